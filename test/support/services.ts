import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Real store servers for the tests: redis-server and PostgreSQL, each started in a temp dir on a free
 * loopback port (never a default port), owned by the test that started it, and killed, frozen
 * (SIGSTOP) or restarted by failure tests. A missing binary skips the suite with a loud message
 * locally; under CISTERN_REQUIRE_SERVICES=1 (CI) it fails instead.
 */

const REQUIRED = process.env.CISTERN_REQUIRE_SERVICES === '1'

/** The binary's path, or undefined (after a loud warning; an error under CISTERN_REQUIRE_SERVICES=1). */
export function findService(name: 'redis-server' | 'postgres'): string | undefined {
  const found = lookup(name)
  if (found) return found
  const message = `${name} is not installed: its tests are SKIPPED (apt-get install -y ${name === 'postgres' ? 'postgresql' : name})`
  if (REQUIRED) throw new Error(`${message}; CISTERN_REQUIRE_SERVICES=1 requires it`)
  console.warn(`\n*** ${message} ***\n`)
  return undefined
}

function lookup(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  // Debian keeps the PostgreSQL server binaries off PATH, under the major version.
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    for (const major of readdirSync(root).sort().reverse()) {
      const candidate = join(root, major, 'bin', name)
      if (existsSync(candidate)) return candidate
    }
  }
  return undefined
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
      socket.connect(port, '127.0.0.1')
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs}ms`)
}

/** A running server a test controls: stop it, kill it, freeze and thaw it, start it again. */
export interface ServiceHandle {
  readonly url: string
  readonly port: number
  /** SIGKILL: gone at once, as in a crash. */
  kill(): Promise<void>
  /** SIGSTOP: the process holds its sockets but answers nothing. */
  freeze(): void
  /** SIGCONT after freeze(). */
  thaw(): void
  /** Start again on the same port and data dir (after kill or stop). */
  restart(): Promise<void>
  /** Stop and remove its data. */
  stop(): Promise<void>
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => child.once('exit', () => resolve()))
}

/** redis-server with no persistence, in a temp dir, on a free loopback port. */
export async function startRedis(binary: string): Promise<ServiceHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'cistern-redis-'))
  const port = await freePort()
  let child: ChildProcess
  const launch = async (): Promise<void> => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    await waitForPort(port, child, 'redis-server')
  }
  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      child.kill('SIGKILL')
      await exited(child)
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    restart: launch,
    async stop() {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await exited(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A PostgreSQL cluster of its own: `initdb` in a temp dir (as the postgres user when running as root,
 * since initdb refuses root), trust auth on loopback, then `postgres` on a free port.
 */
export async function startPostgres(binary: string): Promise<ServiceHandle> {
  const bin = join(binary, '..')
  const dir = mkdtempSync(join(tmpdir(), 'cistern-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = (command: string, args: string[]): string[] =>
    asRoot ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args]
  if (asRoot) execFileSync('chown', ['postgres', dir])
  const [initCmd, ...initArgs] = run(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ])
  execFileSync(initCmd!, initArgs, { stdio: 'ignore' })
  const port = await freePort()
  // The server itself runs as the postgres user (spawn's uid/gid), not under runuser: a signal the
  // test sends (kill, SIGSTOP) must reach the postmaster and its backends (signalTree), and runuser
  // forwards neither SIGKILL nor SIGSTOP.
  const owner = asRoot ? postgresUser() : undefined
  let child: ChildProcess
  const launch = async (): Promise<void> => {
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dir,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ]
    child = spawn(binary, args, { stdio: 'ignore', ...owner })
    await waitForPort(port, child, 'postgres')
    // Listening is not accepting: wait until a query can run.
    await waitForQuery(port, child)
  }
  await launch()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async kill() {
      signalTree(child, 'SIGKILL')
      await exited(child)
      // A killed postmaster leaves its pid file and shared memory: the restart must not trip on them.
      rmSync(join(data, 'postmaster.pid'), { force: true })
    },
    freeze: () => signalTree(child, 'SIGSTOP'),
    thaw: () => signalTree(child, 'SIGCONT'),
    restart: launch,
    async stop() {
      signalTree(child, 'SIGCONT')
      child.kill('SIGINT')
      await exited(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The postmaster and its backends. Each backend calls setsid(), so a process group does not hold
 * them: they are found as the postmaster's children, and signalled before it (a frozen server must
 * not answer from a backend that is still running).
 */
function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid!
  let children: number[] = []
  try {
    children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    // pgrep exits 1 when there are none.
  }
  for (const target of [...children, pid]) {
    try {
      process.kill(target, signal)
    } catch {}
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

async function waitForQuery(port: number, child: ChildProcess): Promise<void> {
  const pg = await import('pg')
  const deadline = Date.now() + 20_000
  for (;;) {
    const client = new pg.default.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
    // A server still starting up may end the connection after connect() settled: an 'error' event.
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      await client.end()
      return
    } catch (error) {
      await client.end().catch(() => {})
      if (child.exitCode !== null || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
