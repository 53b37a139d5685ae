import { Worker } from 'node:worker_threads'

export interface RateLoadJob {
  /** Gateway URL, e.g. http://127.0.0.1:1234 */
  base: string
  /** Path prefix; the key number is appended. */
  prefix: string
  /** Distinct keys, cycled through in order. */
  keys: number
  /** Target requests per second. */
  rate: number
  durationMs: number
  connections: number
  maxInFlight: number
  /** How long to wait for outstanding requests after the run before calling them hung. */
  drainMs: number
}

export interface RateLoadResult {
  sent: number
  /** Due but not started because maxInFlight requests were outstanding. */
  unsent: number
  /** Still unanswered after drainMs: hung. */
  pending: number
  /** Transport errors (reset, refused). */
  errors: number
  errorSamples: string[]
  sendingMs: number
  /** `${status} ${X-Cache-Status}[ retry-after]` → count. */
  tally: Record<string, number>
  latencyMs: { p50: number; p99: number; max: number }
}

/** Runs the open-loop generator (rate-load-worker.mjs) on a worker thread, off the server's loop. */
export async function rateLoad(job: RateLoadJob): Promise<RateLoadResult> {
  const worker = new Worker(new URL('./rate-load-worker.mjs', import.meta.url), { workerData: job })
  try {
    return await new Promise<RateLoadResult>((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', resolve)
    })
  } finally {
    await worker.terminate()
  }
}
