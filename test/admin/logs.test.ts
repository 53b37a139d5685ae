import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, MASK, Scrubber } from '../../src/log/index.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

const SECRETS = {
  ADMIN_TOKEN: 'adm1n-T0ken-9f8e7d6c5b4a',
  API_KEY: 'k3y-Qw9xZ+/=e&r7',
  HEADER_SECRET: 'hdr-s3cr3t-5a6b7c',
  TBA_SECRET: 'tba-hmac-s3cret-0042',
}

const YAML = `
listen: \${CISTERN_LISTEN}
admin:
  listen: \${CISTERN_ADMIN_LISTEN}
  token: \${ADMIN_TOKEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc:
    url: \${SIM_URL}
    auth:
      query: { name: api_key, value: "\${API_KEY}" }
    headers: { x-client-secret: "\${HEADER_SECRET}" }
    retries: { max: 0 }
    timeout: 2s
routes:
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams?teamNumber=:team
    ttl: 1h
    tags: ["team:{team}"]
webhooks:
  - path: /hooks/tba
    verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: "\${TBA_SECRET}" }
    on:
      - invalidate: ["team:{body.team}"]
`

describe('logs: the scrubber', () => {
  const scrubber = new Scrubber(['sup3r-secret', 'with"quote\\and'])

  it('masks secret query parameters in any URL and keeps the rest', () => {
    const line = JSON.stringify({
      url: 'https://api.example/v1/teams?season=2025&api_key=abc123&x=1',
      msg: 'GET /x?token=t0k&page=2',
    })
    const out = scrubber.scrub(line)
    expect(out).toContain(`season=2025&api_key=${MASK}&x=1`)
    expect(out).toContain(`/x?token=${MASK}&page=2`)
    expect(out).not.toMatch(/abc123|t0k/)
  })

  it('masks Authorization, Cookie and API-key headers as objects, header pairs and free text', () => {
    const line = JSON.stringify({
      headers: {
        Authorization: 'Bearer tok-123',
        cookie: 'sid=42',
        'X-Api-Key': 'xk-9',
        accept: 'application/json',
      },
      pairs: [
        ['authorization', 'Basic dXNlcjpwYXNz'],
        ['content-type', 'application/json'],
      ],
      msg: 'upstream said 401 to Bearer abc.def-ghi and https://user:pw@host/p',
    })
    const out = scrubber.scrub(line)
    for (const secret of ['tok-123', 'sid=42', 'xk-9', 'dXNlcjpwYXNz', 'abc.def-ghi', 'user:pw'])
      expect(out).not.toContain(secret)
    expect(out).toContain('application/json')
    expect(JSON.parse(out).headers.Authorization).toBe(MASK)
  })

  it('masks configured secret values wherever they appear: raw, JSON-escaped, URL-encoded', () => {
    const out = scrubber.scrub(
      JSON.stringify({
        a: 'x sup3r-secret y',
        b: 'with"quote\\and',
        c: encodeURIComponent('with"quote\\and'),
      }),
    )
    expect(out).not.toMatch(/sup3r-secret|quote/)
    expect(JSON.parse(out)).toEqual({ a: `x ${MASK} y`, b: MASK, c: MASK })
  })

  it('applies to every line a logger writes, messages and nested fields included', () => {
    const lines: string[] = []
    const logger = createLogger({
      level: 'trace',
      secrets: ['S3CRET-VALUE'],
      destination: { write: (l) => lines.push(l) },
    })
    logger.warn(
      {
        url: 'https://h/p?api_key=K1',
        headers: { authorization: 'Bearer K2' },
        req: { headers: { cookie: 'K3' } },
        note: 'S3CRET-VALUE',
      },
      'GET https://h/p?access_token=K4 failed',
    )
    logger.child({ token: 'K5' }).info('child')
    const text = lines.join('')
    for (const secret of ['K1', 'K2', 'K3', 'K4', 'K5', 'S3CRET-VALUE'])
      expect(text).not.toMatch(new RegExp(`\\b${secret}\\b`))
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      msg: `GET https://h/p?access_token=${MASK} failed`,
    })
  })
})

describe('logs: no secret from the config in any line cistern writes', () => {
  let h: AdminHarness
  beforeAll(async () => {
    h = await startAdminHarness({
      yaml: YAML,
      env: SECRETS,
      sim: { auth: { query: { name: 'api_key', values: [SECRETS.API_KEY] } } },
      admin: { token: SECRETS.ADMIN_TOKEN },
      logLevel: 'trace',
    })
  })
  afterAll(() => h.close())

  it('serves, fails, receives webhooks and answers the admin API without leaking', async () => {
    const [a, b] = h.sim.teamNumbers(2025)
    expect((await h.get(`/ftc/2025/teams/${a}`)).status).toBe(200)
    expect((await h.get(`/ftc/2025/teams/${a}`)).status).toBe(200)
    await h.sim.set({ mode: '500' })
    expect((await h.get(`/ftc/2025/teams/${b}`)).status).toBeGreaterThanOrEqual(500)
    await h.sim.set({ mode: 'up' })
    const body = JSON.stringify({ team: a })
    const signature = createHmac('sha256', SECRETS.TBA_SECRET).update(body).digest('hex')
    await fetch(`${h.url}/hooks/tba`, {
      method: 'POST',
      body,
      headers: { 'x-tba-hmac': signature, 'content-type': 'application/json' },
    })
    await fetch(`${h.url}/hooks/tba`, { method: 'POST', body, headers: { 'x-tba-hmac': 'bad' } })
    const answers = await Promise.all(
      ['/upstreams', '/stats', '/entries', '/metrics'].map(async (path) => (await h.api(path)).text()),
    )
    await h.api(`/entries?tag=team:${b}`, { method: 'DELETE' })
    expect(await json(await h.api('/upstreams'))).toMatchObject({
      upstreams: [{ name: 'ftc', auth: 'query' }],
    })

    expect(h.logs.some((line) => line.includes('"served"'))).toBe(true)
    expect(h.logs.some((line) => line.includes('upstream call failed'))).toBe(true)
    // A careless log call with the upstream URL and credentials in it, through cistern's own logger.
    h.cistern.logger.warn(
      {
        url: `${h.sim.apiUrl}/2025/teams?teamNumber=${a}&api_key=${SECRETS.API_KEY}`,
        headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, 'x-client-secret': SECRETS.HEADER_SECRET },
      },
      `retrying GET /2025/teams?api_key=${encodeURIComponent(SECRETS.API_KEY)}`,
    )
    const careless = JSON.parse(h.logs.at(-1)!)
    expect(careless.url).toBe(`${h.sim.apiUrl}/2025/teams?teamNumber=${a}&api_key=${MASK}`)
    expect(careless.headers).toEqual({ authorization: MASK, 'x-client-secret': MASK })
    expect(h.logs.some((line) => line.includes('"upstream call"') && line.includes(`api_key=`))).toBe(true)
    const everything = [...h.logs, ...answers].join('\n')
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (const form of [
        secret,
        encodeURIComponent(secret),
        new URLSearchParams({ s: secret }).toString().slice(2),
      ]) {
        expect(everything.includes(form), `${name} (${form}) leaked`).toBe(false)
      }
    }
  })
})
