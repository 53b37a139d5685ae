import { execFileSync } from 'node:child_process'
import type { Instance } from '../support/cluster.js'

/**
 * The instance whose process holds the loopback TCP connection from local `port` (the remote port a
 * test server saw), by `ss -tnp`: which of the cluster made an upstream call.
 */
export function ownerOfPort(port: number, instances: readonly Instance[]): Instance | undefined {
  const out = execFileSync('ss', ['-tnpH'], { encoding: 'utf8' })
  for (const line of out.split('\n')) {
    const [, , , local] = line.trim().split(/\s+/)
    if (local !== `127.0.0.1:${port}`) continue
    const pid = Number(/pid=(\d+)/.exec(line)?.[1])
    return instances.find((instance) => instance.process.pid === pid)
  }
  return undefined
}
