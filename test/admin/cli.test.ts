import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { childEnv } from '../support/child-env.js'
import { type AdminHarness, startAdminHarness } from './helpers.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The built CLI, as an operator runs it (`npm test` builds dist first). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...childEnv(), ...env }, timeout: 15_000 },
      (error, stdout, stderr) => resolve({ code: child.exitCode ?? (error ? 1 : 0), stdout, stderr }),
    )
  })
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('cistern CLI against a running gateway (built CLI)', () => {
  let h: AdminHarness
  let admin: string[]
  const keys = async () => {
    const body = (await (await h.api('/entries?limit=1000')).json()) as { items: { key: string }[] }
    return body.items.map((item) => item.key)
  }

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`)
    h = await startAdminHarness()
    admin = ['--admin', h.admin, '--token', h.token]
    for (const team of h.sim.teamNumbers(2025).slice(0, 3)) {
      await h.get(`/ftc/2025/teams/${team}`)
      await h.get(`/ftc/2024/teams/${team}`)
    }
    await h.get('/ftc/2025/events')
    await h.get('/ftc/2024/events')
  })
  afterAll(() => h?.close())

  it('`cistern purge --tag X` removes exactly the entries tagged X', async () => {
    const before = await keys()
    expect(before).toHaveLength(8)
    const run = await cli(['purge', '--tag', 'season:2024', ...admin])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe('purged 4 entries (tag season:2024)')
    expect(await keys()).toEqual(before.filter((key) => !key.startsWith('/ftc/2024/')))
  })

  it('`cistern stats` prints a table, --json the API answer; the token can come from the environment', async () => {
    const [table, json] = await Promise.all([
      cli(['stats', '--admin', h.admin], { CISTERN_ADMIN_TOKEN: h.token }),
      cli(['stats', '--json', ...admin]),
    ])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^requests:\s+8 \(hits 0, stale 0, revalidated 0, misses 8, bypass 0/m)
    expect(table.stdout).toMatch(/^\/ftc\/:season\/teams\/:team\s+6\s+0\s+0\s+6\s+0\.0%/m)
    expect(JSON.parse(json.stdout)).toMatchObject({ totals: { requests: 8, misses: 8, upstreamCalls: 8 } })
  })

  it('`cistern inspect KEY`, `cistern refresh`, `cistern upstreams`', async () => {
    const key = '/ftc/2025/events'
    const inspect = await cli(['inspect', key, ...admin])
    expect(inspect.code).toBe(0)
    expect(inspect.stdout).toMatch(/^key:\s+\/ftc\/2025\/events$/m)
    expect(inspect.stdout).toMatch(/^state:\s+fresh \(status 200/m)
    expect(inspect.stdout).toMatch(/^tags:\s+season:2025$/m)
    const refresh = await cli(['refresh', '--key', key, '--json', ...admin])
    expect(JSON.parse(refresh.stdout)).toMatchObject({ count: 1 })
    const upstreams = await cli(['upstreams', ...admin])
    expect(upstreams.stdout).toMatch(/^ftc\s+UP\s+http:\/\/127\.0\.0\.1:\d+\/v2\.0/m)
    expect(upstreams.stdout).toContain('recent calls to ftc:')
  })

  it('says clearly when the token is refused, the admin API is unreachable, or the selection is wrong', async () => {
    const closed = await closedPort()
    // None of these changes anything: the five processes run side by side.
    const [refused, none, unreachable, ambiguous, missing] = await Promise.all([
      cli(['stats', '--admin', h.admin, '--token', 'wrong']),
      cli(['stats', '--admin', h.admin]),
      cli(['stats', '--admin', `http://127.0.0.1:${closed}`, '--token', 'x']),
      cli(['purge', '--tag', 'a', '--key', 'b', ...admin]),
      cli(['inspect', '/nope', ...admin]),
    ])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/refused the token \(401\)/)
    expect(none.code).toBe(3)
    expect(none.stderr).toMatch(/no admin token: pass --token or set CISTERN_ADMIN_TOKEN/)
    expect(unreachable.code).toBe(4)
    expect(unreachable.stderr).toContain(
      `cannot reach the admin API at http://127.0.0.1:${closed}: ECONNREFUSED`,
    )
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toMatch(/exactly one of --key, --tag or --prefix/)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/404: entry_not_found/)
  })
})

describe('cistern serve --log-level (built CLI)', () => {
  let sim: SimUpstream
  let dir: string
  let child: ChildProcess | undefined
  beforeAll(async () => {
    sim = await startSimUpstream({ changeEveryMs: false })
    dir = await mkdtemp(join(tmpdir(), 'cistern-serve-'))
  })
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('logs pino JSON to stdout at the chosen level, prints a generated admin token once, stops on SIGTERM', async () => {
    const config = join(dir, 'cistern.yaml')
    const yaml = `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstore: { kind: memory }\nupstreams:\n  ftc: { url: "${sim.apiUrl}" }\nroutes:\n  - { path: /ftc/:season/events, upstream: ftc, to: /:season/events, ttl: 1h }\n`
    await writeFile(config, yaml)
    const proc = spawn(process.execPath, [CLI, 'serve', '-c', config, '--log-level', 'debug'], {
      env: childEnv(),
    })
    child = proc
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    for (let i = 0; i < 200 && !stderr.includes('dashboard:'); i++)
      await new Promise((r) => setTimeout(r, 25))
    const gateway = /cistern listening on (http:\S+) /.exec(stderr)?.[1]
    const adminUrl = /admin API and dashboard on (http:\S+)/.exec(stderr)?.[1]
    const token = /admin token \(generated for this run\): (\S+)/.exec(stderr)?.[1]
    expect(gateway && adminUrl && token, stderr).toBeTruthy()
    expect((await fetch(`${gateway}/ftc/2025/events`)).status).toBe(200)
    expect(
      (await fetch(`${adminUrl}/healthz`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200)
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string })
    expect(lines.find((line) => line.msg === 'cistern listening')).toMatchObject({ level: 'info' })
    expect(lines.some((line) => line.level === 'debug' && line.msg === 'served')).toBe(true)
    expect(stdout).not.toContain(token)
  })
})
