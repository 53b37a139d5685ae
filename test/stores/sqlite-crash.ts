import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const WRITER = fileURLToPath(new URL('../fixtures/sqlite-crash-writer.mjs', import.meta.url))

export interface CrashRun {
  /** Keys whose set() had resolved before the kill. */
  committed: Set<string>
  /** The WAL held frames of a transaction that never committed: the kill hit mid-write. */
  midTransaction: boolean
}

/**
 * Runs the writer fixture against `dbPath`. Once `killAfter` commits are in, it SIGKILLs the writer
 * `delayMs` after the writer announces its next 1 MB write: a 1 MB transaction is some 260 WAL
 * frames, so a kill a millisecond or two in usually cuts it short.
 */
export function crashWriter(
  storeModule: string,
  dbPath: string,
  killAfter: number,
  delayMs: number,
): Promise<CrashRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, storeModule, dbPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const committed = new Set<string>()
    let stderr = ''
    let commits = 0
    let armed = true
    const guard = setTimeout(() => child.kill('SIGKILL'), 12_000)
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('+')) {
        committed.add(line)
        commits++
      } else if (armed && commits >= killAfter && Number(line.slice(1)) >= 1024 * 1024) {
        armed = false
        setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL') reject(new Error(`writer exited (${code}) before the kill: ${stderr}`))
      else resolve({ committed, midTransaction: walEndsMidTransaction(`${dbPath}-wal`) })
    })
  })
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url')
}

/**
 * Reads the WAL as the killed writer left it (before anyone opens the database and recovers it):
 * frames carrying the current salts are live; a commit frame has a non-zero "database size" field.
 * Live frames after the last commit frame belong to a transaction the kill cut short.
 */
function walEndsMidTransaction(walPath: string): boolean {
  if (!existsSync(walPath)) return false
  const wal = readFileSync(walPath)
  if (wal.length < 32) return false
  const pageSize = wal.readUInt32BE(8)
  const salts = wal.subarray(16, 24)
  let frames = 0
  let lastCommit = -1
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (!wal.subarray(at + 8, at + 16).equals(salts)) break
    if (wal.readUInt32BE(at + 4) !== 0) lastCommit = frames
    frames++
  }
  return frames - 1 > lastCommit
}
