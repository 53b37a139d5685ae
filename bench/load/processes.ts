import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Start `node <script> ...args` and resolve with its first stdout line (the server's address). */
export async function startServer(
  script: URL,
  args: string[],
): Promise<{ line: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [script.pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
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
