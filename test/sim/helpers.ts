import type { SimUpstream } from '../../examples/sim-upstream/index.js'

export interface Got {
  status: number
  headers: Headers
  text: string
  ms: number
}

/** fetch with a hard timeout, so that no test can hang. */
export async function get(
  sim: SimUpstream,
  path: string,
  init: RequestInit = {},
  timeoutMs = 3000,
): Promise<Got> {
  const started = performance.now()
  const res = await fetch(`${sim.url}${path}`, { signal: AbortSignal.timeout(timeoutMs), ...init })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, ms: performance.now() - started }
}

export function json<T = Record<string, unknown>>(got: Got): T {
  return JSON.parse(got.text) as T
}

/** A controllable clock for deterministic rate-limit and Last-Modified tests. */
export function fakeClock(startMs = Date.UTC(2025, 10, 21, 15, 0, 0, 250)) {
  let t = startMs
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms
    },
  }
}

/** The error code behind a failed fetch (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ...). */
export async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    const cause = (err as { cause?: { code?: string; name?: string } }).cause
    return cause?.code ?? cause?.name ?? (err as Error).name
  }
  return 'no-failure'
}
