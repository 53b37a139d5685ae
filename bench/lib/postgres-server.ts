/** A PostgreSQL cluster of its own for the store benches (initdb in a temp dir, a free loopback port), or POSTGRES_URL. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { postgresStore } from '../../src/stores/postgres/store.js'
import { freePort, type StoreBench } from './store-beside-sqlite.js'

function postgresBinaries(): string {
  const root = '/usr/lib/postgresql'
  const major = existsSync(root) ? readdirSync(root).sort().reverse()[0] : undefined
  if (!major)
    throw new Error('PostgreSQL is not installed (apt-get install -y postgresql), or set POSTGRES_URL')
  return join(root, major, 'bin')
}

export async function startPostgres(): Promise<{ url: string; version: string; stop(): void }> {
  if (process.env.POSTGRES_URL)
    return { url: process.env.POSTGRES_URL, version: 'given by POSTGRES_URL', stop() {} }
  const bin = postgresBinaries()
  const dir = mkdtempSync(join(tmpdir(), 'cistern-bench-pg-'))
  // initdb refuses root: as root, the cluster belongs to the postgres user.
  const owner =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        }
      : undefined
  if (owner) execFileSync('chown', ['postgres', dir])
  const data = join(dir, 'data')
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    {
      stdio: 'ignore',
      ...owner,
    },
  )
  const port = await freePort()
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off'],
    { stdio: 'ignore', ...owner },
  )
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let version = ''
  for (let i = 0; ; i++) {
    const client = new pg.Client(url)
    try {
      await client.connect()
      version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v.split(' on ')[0]!
      await client.end()
      break
    } catch (error) {
      await client.end().catch(() => {})
      if (i > 200) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    url,
    version,
    stop() {
      child.kill('SIGINT')
      child.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    },
  }
}

/** The Postgres contender of the store benches, on `server`. */
export function postgresBench(server: { url: string; version: string }): StoreBench {
  return {
    name: 'postgres',
    server: `${server.version}, ${server.url.replace(/\/\/.*@/, '//')}`,
    store: (phase) => postgresStore({ url: server.url, namespace: `bench_${phase}`, sweepIntervalMs: 0 }),
    roundCalls: 200_000,
    rounds: 7,
    p99BudgetMs: 2,
  }
}
