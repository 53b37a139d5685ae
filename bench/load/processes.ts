import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus } from 'node:os'
import { createInterface } from 'node:readline'

/**
 * With taskset and two or more cores, servers run on core 0 and the load generator on core 1: on a
 * small machine, a server and wrk landing on one core swings results by a third between runs.
 */
export const PINNED = existsSync('/usr/bin/taskset') && cpus().length >= 2

export function pinned(core: number, command: string, args: string[]): [string, string[]] {
  return PINNED ? ['/usr/bin/taskset', ['-c', String(core), command, ...args]] : [command, args]
}

/** Start `node <script> ...args` on `core` and resolve with its first stdout line (the server's address). */
export async function startServer(
  script: URL,
  args: string[],
  core = 0,
): Promise<{ line: string; child: ChildProcess }> {
  const [command, argv] = pinned(core, process.execPath, [script.pathname, ...args])
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) =>
      reject(new Error(`${script.pathname} exited with ${code} before printing its address`)),
    )
  })
  return { line, child }
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}
