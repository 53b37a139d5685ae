import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { pinned } from './processes.js'

const run = promisify(execFile)

export interface LoadFigures {
  tool: 'wrk' | 'autocannon'
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
}

/**
 * Closed-loop load with `connections` keep-alive connections for `seconds`. wrk (C, from Debian) is
 * preferred: it leaves more of the machine to the server than a JavaScript load generator.
 */
export async function load(url: string, connections: number, seconds: number): Promise<LoadFigures> {
  return existsSync('/usr/bin/wrk') ? wrk(url, connections, seconds) : cannon(url, connections, seconds)
}

/** BENCH_THINK_MS: a pause per connection between an answer and its next request (wrk only). */
export const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 0)
const THINK_SCRIPT = fileURLToPath(new URL('../../../bench/load/think.lua', import.meta.url))

async function wrk(url: string, connections: number, seconds: number): Promise<LoadFigures> {
  const [command, args] = pinned(1, '/usr/bin/wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    ...(THINK_MS > 0 ? ['-s', THINK_SCRIPT] : []),
    url,
  ])
  const { stdout } = await run(command, args)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  return {
    tool: 'wrk',
    requestsPerSec: rps,
    p50Ms: percentile(stdout, '50%'),
    p99Ms: percentile(stdout, '99%'),
    errors,
  }
}

/** wrk prints "  99%    1.23ms" (or us / s) under "Latency Distribution". */
function percentile(stdout: string, label: string): number {
  const match = new RegExp(`^\\s+${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout)
  if (!match) return Number.NaN
  const value = Number(match[1])
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value
}

async function cannon(url: string, connections: number, seconds: number): Promise<LoadFigures> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 })
  return {
    tool: 'autocannon',
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors,
  }
}
