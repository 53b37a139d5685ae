import { afterEach, describe, expect, it } from 'vitest'
import { type NifSim, startNifSim } from '../../examples/nif-precache/upstream.js'
import { ConfigError, parseConfig } from '../../src/config/index.js'
import { redactConfig, secretsOf } from '../../src/log/index.js'
import type { UpstreamFailure } from '../../src/upstream/client/failure.js'
import type { Upstream } from '../../src/upstream/create-upstream.js'
import { rejection, upstreamFromYaml } from './upstream.js'

const SECRET = 's3cr3t+/=value'
const oauth = (sim: NifSim, extra = '') =>
  [
    'auth:',
    '  oauth2:',
    `    tokenUrl: ${sim.tokenUrl}`,
    '    clientId: cistern-test',
    `    clientSecret: "${SECRET}"`,
    '    scope: data_org_read_api',
    ...(extra ? [`    ${extra}`] : []),
    'retries: { max: 0 }',
  ].join('\n')

const get = (upstream: Upstream, path = '/Seasons/?sportId=72') =>
  upstream.client.request({ method: 'GET', path, lane: 'foreground' })

describe('auth: oauth2 client credentials, against a token endpoint over HTTP', () => {
  let sim: NifSim | undefined
  let upstream: Upstream | undefined
  afterEach(async () => {
    await upstream?.client.close()
    await sim?.close()
    sim = upstream = undefined
  })

  it('fetches one token for concurrent first calls, sends it as Bearer and reuses it', async () => {
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: SECRET })
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim))
    const first = await Promise.all([get(upstream), get(upstream), get(upstream)])
    expect(first.map((r) => r.status)).toEqual([200, 200, 200])
    await get(upstream, '/Tournament/Season/1512024/')
    expect(sim.tokens).toEqual({ issued: 1, refused: 0 })
    expect(sim.calls.map((c) => c.status)).toEqual([200, 200, 200, 200])
  })

  it('renews the token before expires_in runs out (by the injected clock), so no call is refused', async () => {
    let now = Date.parse('2026-01-10T12:00:00Z')
    const clock = () => now
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: SECRET, tokenTtlSec: 300, now: clock })
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim), clock)
    await get(upstream)
    now += 200_000 // 100 s left: still inside the token's life less the 60 s margin
    await get(upstream)
    expect(sim.tokens.issued).toBe(1)
    now += 50_000 // 50 s left: inside the margin, renewed before the upstream would refuse it
    await get(upstream)
    expect(sim.tokens.issued).toBe(2)
    expect(sim.calls.map((c) => c.status)).toEqual([200, 200, 200])
  })

  it('on a 401 (token revoked) fetches a new token and retries once; a second 401 is the answer', async () => {
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: SECRET })
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim))
    await get(upstream)
    sim.revokeTokens()
    const renewed = await get(upstream)
    expect(renewed.status).toBe(200)
    expect(sim.tokens.issued).toBe(2)
    expect(sim.calls.map((c) => c.status)).toEqual([200, 401, 200])
    // Tokens that never work: one renewal, then the 401 goes back to the caller (no loop).
    await sim.close()
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: SECRET, tokenTtlSec: 0 })
    await upstream.client.close()
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim))
    const refused = await get(upstream)
    expect(refused.status).toBe(401)
    expect(sim.tokens.issued).toBe(2)
    expect(sim.calls.map((c) => c.status)).toEqual([401, 401])
    expect(upstream.snapshot().recentCalls.map((c) => c.status)).toEqual([401, 401])
  })

  it('sends the client credentials as form fields with clientAuth: body', async () => {
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: SECRET })
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim, 'clientAuth: body'))
    expect((await get(upstream)).status).toBe(200)
    expect(sim.tokens.issued).toBe(1)
  })

  it('a refused client is a clear upstream failure naming the OAuth error, never the secret', async () => {
    sim = await startNifSim({ clientId: 'cistern-test', clientSecret: 'another-secret' })
    upstream = upstreamFromYaml(sim.apiUrl, oauth(sim))
    const failure = (await rejection(get(upstream))) as UpstreamFailure
    expect(failure.code).toBe('E_UPSTREAM_BAD_RESPONSE')
    expect(failure.message).toBe('upstream "up": token endpoint answered 401 (invalid_client)')
    expect(JSON.stringify(failure)).not.toContain(SECRET)
    expect(sim.calls).toHaveLength(0) // the API itself was never called without a token
    expect(upstream.snapshot().lastError).toMatchObject({ message: failure.message, status: 401 })
    expect(upstream.snapshot().state).toBe('UP')
    // An unreachable token endpoint: unavailable (503 to a client), and again nothing sent upstream.
    const dead = upstreamFromYaml(sim.apiUrl, oauth(sim).replace(sim.tokenUrl, 'http://127.0.0.1:9/token'))
    const unreachable = (await rejection(get(dead))) as UpstreamFailure
    await dead.client.close()
    expect(unreachable.kind).toBe('unavailable')
    expect(unreachable.message).toMatch(/^upstream "up": token request to http:\/\/127\.0\.0\.1:9 failed/)
  })
})

describe('auth: oauth2 in the config', () => {
  const yaml = (auth: string) =>
    `store: { kind: memory }\nupstreams:\n  nif:\n    url: https://data.nif.no/api/v1/ta\n    auth: ${auth}\n`

  it('resolves scopes, defaults clientAuth to basic, and keeps the secret out of printed configs and logs', () => {
    const config = parseConfig(
      yaml(
        `{ oauth2: { tokenUrl: "https://id.nif.no/connect/token", clientId: c1, clientSecret: "\${S}", scope: [a, b] } }`,
      ),
      'c.yaml',
      { S: SECRET },
    )
    expect(config.upstreams.nif!.auth).toEqual({
      kind: 'oauth2',
      tokenUrl: 'https://id.nif.no/connect/token',
      clientId: 'c1',
      clientSecret: SECRET,
      scope: 'a b',
      clientAuth: 'basic',
    })
    expect(JSON.stringify(redactConfig(config))).not.toContain(SECRET)
    expect(secretsOf(config)).toContain(SECRET)
    expect(secretsOf(config)).toContain(Buffer.from(`c1:${encodeURIComponent(SECRET)}`).toString('base64'))
  })

  it('refuses a token URL that is not http(s), missing fields, and a second auth kind', () => {
    const message = (auth: string) => {
      try {
        parseConfig(yaml(auth), 'c.yaml', {})
      } catch (error) {
        if (error instanceof ConfigError) return error.message
        throw error
      }
      return 'no error'
    }
    expect(message('{ oauth2: { tokenUrl: "ftp://x/token", clientId: c, clientSecret: s } }')).toContain(
      'upstreams.nif.auth.oauth2.tokenUrl: "ftp://x/token" must be an http or https URL',
    )
    expect(message('{ oauth2: { tokenUrl: "https://x/token", clientId: c } }')).toContain(
      'upstreams.nif.auth.oauth2.clientSecret',
    )
    expect(
      message('{ bearer: t, oauth2: { tokenUrl: "https://x/token", clientId: c, clientSecret: s } }'),
    ).toContain('give only one of bearer, oauth2')
  })
})
