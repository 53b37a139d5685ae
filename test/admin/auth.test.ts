import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAdminToken } from '../../src/admin/server/auth.js'
import { startCistern } from '../../src/app/cistern.js'
import { parseConfig } from '../../src/config/index.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

/** Every admin endpoint, as [method, path, body?]. */
const ENDPOINTS: [string, string, unknown?][] = [
  ['GET', '/stats'],
  ['GET', '/entries'],
  ['GET', '/entries/%2Fftc%2F2025%2Fevents'],
  ['DELETE', '/entries?tag=no-such-tag'],
  ['POST', '/refresh', { tag: 'no-such-tag' }],
  ['GET', '/upstreams'],
  ['GET', '/queue'],
  ['GET', '/changes'],
  ['GET', '/events'],
  ['GET', '/metrics'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/'],
]

describe('admin: bearer token on every endpoint', () => {
  let h: AdminHarness
  beforeAll(async () => {
    h = await startAdminHarness()
    await h.get('/ftc/2025/events')
  })
  afterAll(() => h.close())

  const call = async (method: string, path: string, body: unknown, token: string | null) => {
    const controller = new AbortController()
    const response = await h.api(path, {
      method,
      token,
      signal: controller.signal,
      ...(body !== undefined && {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    })
    // /changes is an endless stream: the status and headers are all this test needs.
    const text = path === '/changes' && response.ok ? '' : await response.text()
    controller.abort()
    return { response, text }
  }

  for (const [method, path, body] of ENDPOINTS) {
    it(`${method} ${path}: 401 JSON without a token or with a wrong one, works with the right one`, async () => {
      const wrongSameLength = `${h.token.slice(0, -1)}${h.token.endsWith('x') ? 'y' : 'x'}`
      for (const token of [null, 'wrong', wrongSameLength, `${h.token}x`]) {
        const { response, text } = await call(method, path, body, token)
        expect(response.status, `token ${token}`).toBe(401)
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
        expect(response.headers.get('content-type')).toMatch(/application\/json/)
        expect(JSON.parse(text)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } })
      }
      const { response } = await call(method, path, body, h.token)
      expect(response.status).toBeGreaterThanOrEqual(200)
      expect(response.status).toBeLessThan(300)
    })
  }

  it('answers 401 before 404, so a caller without the token learns nothing of the paths', async () => {
    expect((await h.api('/nope', { token: null })).status).toBe(401)
    const missing = await h.api('/nope')
    expect(missing.status).toBe(404)
    expect(await json(missing)).toMatchObject({ error: { code: 'not_found' } })
    const wrongMethod = await h.api('/stats', { method: 'POST' })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('GET')
  })

  it('GET / shows the login page to a browser without a token (still 401) and the dashboard with ?token=', async () => {
    const page = await fetch(`${h.admin}/`, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(401)
    expect(await page.text()).toContain('id="login"')
    const withToken = await fetch(`${h.admin}/?token=${encodeURIComponent(h.token)}`, {
      headers: { accept: 'text/html' },
    })
    expect(withToken.status).toBe(200)
    expect(withToken.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(withToken.headers.get('referrer-policy')).toBe('no-referrer')
    // Static assets hold no data; a <script src> cannot send a token.
    expect((await fetch(`${h.admin}/dashboard/app.js`)).status).toBe(200)
    expect((await fetch(`${h.admin}/vendor/uplot.js`)).status).toBe(200)
  })
})

describe('admin token: where it comes from', () => {
  const admin = (host: string, token?: string) => ({ listen: { host, port: 0 }, ...(token && { token }) })

  it('prefers admin.token, then CISTERN_ADMIN_TOKEN, then the embedding option, else generates one on loopback', () => {
    expect(
      resolveAdminToken(admin('127.0.0.1', 'from-config'), { env: { CISTERN_ADMIN_TOKEN: 'env' } }),
    ).toEqual({
      value: 'from-config',
      source: 'config',
    })
    expect(
      resolveAdminToken(admin('127.0.0.1'), { env: { CISTERN_ADMIN_TOKEN: 'env' }, token: 'o' }),
    ).toEqual({
      value: 'env',
      source: 'env',
    })
    expect(resolveAdminToken(admin('::1'), { env: {}, token: 'option' }).source).toBe('option')
    const generated = resolveAdminToken(admin('localhost'), { env: {} })
    expect(generated.source).toBe('generated')
    expect(generated.value).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(resolveAdminToken(admin('localhost'), { env: {} }).value).not.toBe(generated.value)
  })

  it('refuses to start on a non-loopback admin address without a configured token', async () => {
    // The config loader refuses this too; a config built by hand must not slip past startCistern.
    const config = parseConfig(
      'listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\n',
      '/tmp/cistern.yaml',
      {},
    )
    const exposed = {
      ...config,
      admin: { listen: { host: '0.0.0.0', port: 0 } },
      store: { ...config.store, kind: 'memory' as const },
    }
    await expect(startCistern(exposed, { admin: { env: {} } })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/0\.0\.0\.0 is not a loopback address: set admin\.token/),
    })
    expect(() => parseConfig('admin: { listen: 0.0.0.0:0 }\n', '/tmp/c.yaml', {})).toThrow(/admin\.token/)
  })
})
