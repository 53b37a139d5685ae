import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SimUpstream, startSimUpstream } from '../../examples/sim-upstream/index.js'
import { connectionCaps } from '../../src/gateway/server/listener-limits.js'
import { createCisternLogger } from '../../src/log/index.js'
import { childEnv } from '../support/child-env.js'
import { type Harness, startHarness } from './harness.js'

/** A raw connection that records what it receives and when the server closes it. */
interface Probe {
  socket: Socket
  received: () => string
  closed: Promise<number>
}

function open(port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
    })
    // The server may reset a socket it refuses; the 'close' below is what the tests look at.
    socket.on('error', () => {})
    const closed = new Promise<number>((done) =>
      socket.once('close', () => done(performance.now() - started)),
    )
    socket.once('connect', () => resolve({ socket, received: () => text, closed }))
    socket.once('error', reject)
  })
}

/** Resolves when `probe` has received `pattern`, or rejects after `ms`. */
async function waitFor(probe: Probe, pattern: RegExp, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms
  while (!pattern.test(probe.received())) {
    if (performance.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms: ${probe.received()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const portOf = (url: string) => Number(new URL(url).port)

const routes = `
upstreams:
  ftc: { url: "\${SIM_URL}" }
routes:
  - { path: /ftc/:season/events, upstream: ftc, to: /:season/events, ttl: 1h }
  - { path: /ftc/:season/teams/:team, upstream: ftc, to: /:season/teams/:team, methods: [PUT] }
`

describe('server limits on the public listener', () => {
  let h: Harness
  const logs: string[] = []
  beforeAll(async () => {
    h = await startHarness({
      yaml: `listen: \${CISTERN_LISTEN}
store: { kind: memory }
server: { maxConnections: 20, headersTimeout: 400ms, requestTimeout: 1s, keepAliveTimeout: 3s }
limits: { maxBodySize: 16KB }
${routes}`,
      start: (config) => ({
        logger: createCisternLogger(config, { level: 'warn', destination: { write: (l) => logs.push(l) } }),
      }),
    })
  })
  afterAll(() => h.close())

  it('a slow-header client is cut at headersTimeout with a JSON 408 (node alone waits ~85 s)', async () => {
    const probe = await open(portOf(h.url))
    probe.socket.write('GET /ftc/2025/events HTTP/1.1\r\nHost: x\r\n')
    // One more header line every 100 ms: never done, always "active".
    const dribble = setInterval(() => probe.socket.writable && probe.socket.write('X-Slow: 1\r\n'), 100)
    try {
      const after = await Promise.race([
        probe.closed,
        new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 3 s')), 3000)),
      ])
      expect(after).toBeLessThan(1500)
    } finally {
      clearInterval(dribble)
    }
    expect(probe.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(probe.received()).toContain('"code":"request_timeout"')
    expect(probe.received()).toMatch(/connection: close/i)
  })

  it('over maxConnections a new socket is closed at once, counted in /metrics and logged; held sockets give way', async () => {
    const port = portOf(h.url)
    const metric = async () =>
      Number(
        /cistern_connections_dropped_total\{listener="public"\} (\d+)/.exec(
          await h.cistern.admin!.metrics.text(),
        )?.[1] ?? 0,
      )
    const before = await metric()
    // Twenty clients each make one request, then keep their connection open and idle.
    const held: Probe[] = []
    for (let i = 0; i < 20; i++) {
      const probe = await open(port)
      probe.socket.write('GET /ftc/2025/events HTTP/1.1\r\nHost: x\r\n\r\n')
      await waitFor(probe, /\r\n\r\n/)
      held.push(probe)
    }
    const refused = await open(port)
    refused.socket.write('GET /ftc/2025/events HTTP/1.1\r\nHost: x\r\n\r\n')
    await refused.closed
    expect(refused.received()).toBe('')
    expect(await metric()).toBe(before + 1)
    const warning = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.listener === 'public')
    expect(warning).toMatchObject({ level: 'warn', maxConnections: 20 })
    // The refusal also shed the idle keep-alive connections: the next client is served.
    await Promise.all(held.map((p) => p.closed))
    const next = await fetch(`${h.url}/ftc/2025/events`)
    expect(next.status).toBe(200)
  })

  it('sockets that never send a request are cut at headersTimeout, so the cap frees itself', async () => {
    const port = portOf(h.url)
    const silent: Probe[] = []
    for (let i = 0; i < 10; i++) silent.push(await open(port))
    for (const after of await Promise.all(silent.map((p) => p.closed))) expect(after).toBeLessThan(1500)
    for (const probe of silent) expect(probe.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect((await fetch(`${h.url}/ftc/2025/events`)).status).toBe(200)
  })

  it('a pass-through body over the limit gets its 413 while still streaming, then the connection closes', async () => {
    h.sim.resetStats()
    const probe = await open(portOf(h.url))
    probe.socket.write('PUT /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    const chunk = Buffer.alloc(4096, 0x61)
    // An endless body: only a server that answers at the limit and then closes ends this.
    let sent = 0
    const pump = setInterval(() => {
      if (!probe.socket.writable || sent > 2_000) return
      probe.socket.write(`${chunk.length.toString(16)}\r\n`)
      probe.socket.write(chunk)
      probe.socket.write('\r\n')
      sent++
    }, 2)
    try {
      await waitFor(probe, /"code":"body_too_large"/)
      await Promise.race([
        probe.closed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('connection kept open')), 3000)),
      ])
    } finally {
      clearInterval(pump)
    }
    expect(probe.received()).toMatch(/^HTTP\/1\.1 413 /)
    expect(probe.received()).toMatch(/\r\nconnection: close\r\n/i)
    expect(sent).toBeLessThan(2_000)
    expect(h.sim.stats().total).toBe(0)
  })

  it('a body dribbled slower than requestTimeout is cut with a JSON 408 and never forwarded', async () => {
    h.sim.resetStats()
    const probe = await open(portOf(h.url))
    probe.socket.write('PUT /ftc/2025/teams/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n')
    const dribble = setInterval(() => probe.socket.writable && probe.socket.write('0123456789'), 100)
    try {
      const after = await Promise.race([
        probe.closed,
        new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 3 s')), 3000)),
      ])
      expect(after).toBeLessThan(2000)
    } finally {
      clearInterval(dribble)
    }
    expect(probe.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(h.sim.stats().total).toBe(0)
  })

  it('the admin listener: a JSON body over 64 KB gets 413 and a closed connection, not a reset', async () => {
    const admin = h.cistern.admin!
    const probe = await open(portOf(h.cistern.adminUrl!))
    probe.socket.write(
      `POST /refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin.token}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    )
    const chunk = Buffer.alloc(70 * 1024, 0x20)
    probe.socket.write(`${chunk.length.toString(16)}\r\n`)
    probe.socket.write(chunk)
    await waitFor(probe, /"code":"body_too_large"/)
    const answeredAt = performance.now()
    await probe.closed
    // Closed right after the answer, not left open for the keep-alive timeout.
    expect(performance.now() - answeredAt).toBeLessThan(1000)
    expect(probe.received()).toMatch(/^HTTP\/1\.1 413 /)
    expect(probe.received()).toMatch(/\r\nconnection: close\r\n/i)
  })
})

describe('maxConnections: auto', () => {
  it('is half the open-file limit (at most 10000); the admin listener gets an eighth (at most 100)', () => {
    expect(connectionCaps('auto', 256)).toEqual({ public: 128, admin: 32 })
    expect(connectionCaps('auto', 1_048_576)).toEqual({ public: 10_000, admin: 100 })
    expect(connectionCaps(500, 256)).toEqual({ public: 500, admin: 32 })
    expect(connectionCaps('auto', undefined)).toEqual({ public: 10_000, admin: 100 })
  })
})

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

describe('a process with a small open-file limit (ulimit -n 256)', () => {
  let sim: SimUpstream
  let dir: string
  let child: ChildProcess | undefined
  beforeAll(async () => {
    sim = await startSimUpstream({ changeEveryMs: false })
    dir = await mkdtemp(join(tmpdir(), 'cistern-fds-'))
  })
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('300 idle sockets neither starve it silently nor keep a new client out for long', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`)
    const config = join(dir, 'cistern.yaml')
    await writeFile(
      config,
      `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstore: { kind: memory }\nserver: { headersTimeout: 1s }\nupstreams:\n  ftc: { url: "${sim.apiUrl}" }\nroutes:\n  - { path: /ftc/:season/events, upstream: ftc, to: /:season/events, ttl: 1h }\n`,
    )
    // The shell lowers the limit, then becomes cistern (exec), which inherits it.
    const proc = spawn(
      '/bin/sh',
      ['-c', `ulimit -n 256 && exec "${process.execPath}" "${CLI}" serve -c "${config}"`],
      {
        env: childEnv(),
      },
    )
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
    expect(gateway, stderr).toBeTruthy()
    const port = portOf(gateway!)
    const idle: Socket[] = []
    for (let i = 0; i < 300; i++) {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      idle.push(socket)
    }
    try {
      await new Promise((r) => setTimeout(r, 200))
      // A new client retries as clients do; it must get in once the held sockets time out.
      const started = performance.now()
      let status: number | undefined
      while (status === undefined && performance.now() - started < 4000) {
        status = await fetch(`${gateway}/ftc/2025/events`, { signal: AbortSignal.timeout(500) })
          .then((res) => res.status)
          .catch(() => undefined)
      }
      expect(status).toBe(200)
      expect(proc.exitCode).toBe(null)
      expect(stdout).toMatch(/"listener":"public","maxConnections":128.*at maxConnections/)
    } finally {
      for (const socket of idle) socket.destroy()
    }
  })
})
