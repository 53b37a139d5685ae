// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references on purpose
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCistern } from '../../src/app/cistern.js'
import { checkCommand } from '../../src/cli/check.js'
import { parseConfig } from '../../src/config/index.js'
import { createCisternLogger } from '../../src/log/index.js'
import { CisternError } from '../../src/util/errors.js'
import { configError } from '../config/helpers.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

/** A loopback port held by another listener for the test's duration. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { port: address.port, server }
}

describe('first-hour traps: cistern check, serve on a busy port, config hints', () => {
  let dir: string
  let held: { port: number; server: Server }
  let held2: { port: number; server: Server }
  const write = async (name: string, text: string) => {
    const path = join(dir, name)
    await writeFile(path, text)
    return path
  }
  const check = async (yaml: string, samples: string[] = []) => {
    const lines: string[] = []
    const { problems } = await checkCommand(await write('cistern.yaml', yaml), (line) => lines.push(line), {
      samples,
    })
    return { problems, out: lines.join('\n') }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cistern-check-'))
    held = await holdPort()
    held2 = await holdPort()
  })
  afterAll(async () => {
    await new Promise((resolve) => held.server.close(resolve))
    await new Promise((resolve) => held2.server.close(resolve))
    await rm(dir, { recursive: true, force: true })
  })

  const base = `listen: 127.0.0.1:0
admin: { listen: "127.0.0.1:0" }
store: { kind: sqlite, path: ./data/cache.db }
upstreams:
  trig: { url: "https://api.trigpointing.uk/v1" }
`

  it('says 1 upstream, shows write routes as pass (no TTL) and lists the webhooks', async () => {
    const { problems, out } = await check(`${base}routes:
  - { name: trig, path: /trig/:id, ttl: 1h, tags: ["trig:{id}"] }
  - { name: trig-write, path: /trig/:id/logs, methods: [POST, PUT], invalidates: ["trig:{id}"] }
webhooks:
  - name: sync
    path: /hooks/sync
    verify: { scheme: hmac-sha256, header: X-Sig, secret: "s3cret-value" }
    on:
      - { when: 'body.kind == "trig"', invalidate: ["trig:{body.id}"] }
`)
    expect(problems).toBe(0)
    expect(out).toMatch(/ok — 2 routes, 1 upstream, 1 webhook, store sqlite/)
    const write = out.split('\n').find((line) => line.includes('/trig/:id/logs'))!
    expect(write).toMatch(/\bpass; invalidates trig:\{id\}$/)
    expect(write).not.toMatch(/ttl/)
    expect(out).toMatch(
      /webhooks:\n {2}POST {2}\/hooks\/sync {2}hmac-sha256 \(x-sig\) {2}when body\.kind == "trig": invalidate trig:\{body\.id\}/,
    )
    expect(out).not.toContain('s3cret-value')
  })

  it('finds a busy listen address and a store path that cannot be a directory', async () => {
    await write('file', 'not a directory')
    const { problems, out } = await check(
      `listen: 127.0.0.1:${held.port}
admin: { listen: "127.0.0.1:${held2.port}" }
store: { kind: sqlite, path: ./file/cache.db }
upstreams:
  trig: { url: "https://api.trigpointing.uk/v1" }
routes:
  - { path: /trig/:id, ttl: 1h }
`,
    )
    expect(problems).toBe(3)
    expect(out).toContain(`✗ listen: 127.0.0.1:${held.port} is already in use`)
    expect(out).toContain(`✗ admin.listen: 127.0.0.1:${held2.port} is already in use`)
    expect(out).toMatch(/✗ store\.path: .*\/file is not a directory/)
  })

  it('--sample evaluates while / items / id against a body and reports what cannot be evaluated', async () => {
    const sample = await write(
      'events.json',
      JSON.stringify({ events: [{ code: 'USCASD', dateEnd: '2999-03-01T00:00:00' }], eventCount: 1 }),
    )
    const { problems, out } = await check(
      `${base}routes:
  - name: events
    path: /ftc/:season/events
    ttl: 1h
    refresh: { while: 'body.events.exists(e, datetime(e.dateEnd) + duration("24h") > now)' }
    changes: { items: body.events, id: item.code }
  - name: broken
    path: /ftc/:season/events2
    ttl: 1h
    refresh: { while: 'timestamp(body.dateEnd) + duration("24h") > now' }
`,
      [`events=${sample}`, `broken=${sample}`, `nope=${sample}`],
    )
    expect(out).toMatch(/refresh\.while: .*\n {4}= true \(kept warm\)/)
    expect(out).toMatch(/changes\.id: item\.code\n {4}= "USCASD"/)
    expect(out).toMatch(/✗ broken refresh\.while cannot be evaluated on .*events\.json: No such key: dateEnd/)
    expect(out).toMatch(/✗ --sample nope: no route or webhook is named so; names are: events, broken/)
    expect(problems).toBe(2)
  })

  it('config errors suggest the fix: add https://, quote ${VAR} in a flow map, no store under /proc', () => {
    const route = 'routes:\n  - { path: /trig/:id, ttl: 1h }\n'
    expect(configError(`upstreams:\n  trig: { url: api.trigpointing.uk/v1 }\n${route}`).message).toContain(
      '"api.trigpointing.uk/v1" has no scheme: add https:// (https://api.trigpointing.uk/v1)',
    )
    expect(configError(`upstreams:\n  trig: { url: "localhost:8080" }\n${route}`).message).toContain(
      'add https://',
    )
    const flow = configError(
      `upstreams:\n  trig: { url: "https://x.org", auth: { kind: basic, username: u, password: \${PASS} } }\n${route}`,
      { PASS: 'p' },
    )
    expect(flow.issues).toHaveLength(1)
    expect(flow.message).toBe(
      'cistern.yaml:2:77 ${PASS} inside { ... } or [ ... ] is read as YAML braces: quote it ("${PASS}")',
    )
    for (const path of ['/proc/self/cache.db', '/sys/x.db', '/dev/shm/../cache.db']) {
      const error = configError(
        `store: { path: ${path} }\nupstreams:\n  trig: { url: "https://x.org" }\n${route}`,
      )
      expect(error.message).toMatch(/store\.path: .* is under \/(proc|sys|dev), a kernel pseudo-filesystem/)
    }
  })

  it('a busy port is one line naming the key: E_LISTEN from startCistern, exit 1 from serve', async () => {
    const yaml = (listen: number, admin: number) =>
      `listen: 127.0.0.1:${listen}\nadmin: { listen: "127.0.0.1:${admin}" }\nstore: { kind: memory }\nupstreams:\n  trig: { url: "https://x.org" }\nroutes:\n  - { path: /trig/:id, ttl: 1h }\n`
    const config = parseConfig(yaml(0, held.port), join(dir, 'admin.yaml'), {})
    const logger = createCisternLogger(config, { level: 'silent' })
    const error = await startCistern(config, { logger, refresh: { dbPath: ':memory:' } }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(CisternError)
    expect(error).toMatchObject({
      code: 'E_LISTEN',
      message: `admin.listen: 127.0.0.1:${held.port} is already in use`,
    })

    const path = await write('busy.yaml', yaml(held.port, 0))
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, 'serve', '-c', path],
        {
          env: {
            PATH: process.env.PATH ?? '',
            ...(process.env.NODE_OPTIONS && { NODE_OPTIONS: process.env.NODE_OPTIONS }),
          },
          timeout: 15_000,
        },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      )
    })
    expect(run.stderr.trim()).toBe(`listen: 127.0.0.1:${held.port} is already in use`)
    expect(run.code).toBe(1)
  })
})
