import { Worker } from 'node:worker_threads'

export interface SteadyLoadOptions {
  /** Base URLs (one per instance); requests go round-robin over them. */
  urls: string[]
  /** Path prefix; each request appends its own counter, so every request is a different key. */
  path: string
  /** Target requests per second over all URLs. */
  rate: number
  durationMs: number
  /** Cap on requests in flight; beyond it the generator skips (and reports) rather than queueing. */
  maxInFlight?: number
  connections?: number
  /** Per-request headers/body timeout (a hung request shows as an error). */
  timeoutMs?: number
}

export interface SteadyLoadResult {
  sent: number
  /** Requests not sent because `maxInFlight` were already out. */
  skipped: number
  elapsedMs: number
  /** Count per status code (and `error <code>` for requests that never got an answer). */
  statuses: Record<string, number>
  /** 5xx answers by `<status> <JSON code>`. */
  codes: Record<string, number>
  /** The slowest request, send to last byte. */
  maxMs: number
  errors: number
}

/** Open-loop GETs at `rate`/s for `durationMs` from a worker thread (its own core). Bounded. */
export async function steadyLoad(options: SteadyLoadOptions): Promise<SteadyLoadResult> {
  const worker = new Worker(new URL('./steady-load-worker.mjs', import.meta.url), {
    workerData: {
      maxInFlight: 512,
      connections: 256,
      timeoutMs: 10_000,
      ...options,
    },
  })
  try {
    return await new Promise<SteadyLoadResult>((resolve, reject) => {
      worker.on('error', reject)
      worker.on('message', resolve)
    })
  } finally {
    await worker.terminate()
  }
}
