import { Worker } from 'node:worker_threads'

export interface LoadResult {
  status: number
  xcache: string
  /** This request's send-to-last-byte time. */
  ms: number
  bytes: number
}

/** `count` concurrent GETs of `url` from a worker thread; `beforeFire` runs once connections are warm. */
export async function burst(
  url: string,
  warmUrl: string,
  count: number,
  beforeFire: () => void = () => {},
): Promise<LoadResult[]> {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
    workerData: { url, warmUrl, count },
  })
  try {
    return await new Promise<LoadResult[]>((resolve, reject) => {
      worker.on('error', reject)
      worker.on('message', (message: { ready?: true; results?: LoadResult[] }) => {
        if (message.ready) {
          beforeFire()
          worker.postMessage('fire')
        } else if (message.results) resolve(message.results)
      })
    })
  } finally {
    await worker.terminate()
  }
}
