// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references on purpose
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js'
import { MASK, redactConfig } from '../../src/log/index.js'
import { CisternError } from '../../src/util/errors.js'
import { load, UPSTREAM } from './helpers.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/full.yaml', import.meta.url))
const ENV = {
  CISTERN_ADMIN_TOKEN: 'admin-token-value',
  FTC_USER: 'ftc-user',
  FTC_KEY: 'ftc-key-value',
  COC_KEY_1: 'coc-key-one',
  COC_KEY_2: 'coc-key-two',
  TBA_SECRET: 'tba-secret-value',
  STRIPE_OLD: 'stripe-old-secret',
  STRIPE_NEW: 'stripe-new-secret',
  NOTIFY_SECRET: 'whsec_bm90aWZ5LXNlY3JldA==',
}

describe('the full sample config', () => {
  it('loads from a file with every value resolved', async () => {
    const config = await loadConfig(FIXTURE, ENV)
    expect(config.file).toBe(FIXTURE)
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(config.admin).toEqual({ listen: { host: '127.0.0.1', port: 8081 }, token: 'admin-token-value' })
    // Relative store paths resolve against the config file's directory.
    expect(config.store).toEqual({
      kind: 'sqlite',
      path: join(dirname(FIXTURE), '.cistern/cache.db'),
      memory: 64_000_000,
      timeout: 1000,
      maxSize: 1_000_000_000,
    })
    expect(config.limits).toEqual({ maxBodySize: 1_000_000, maxResponseSize: 32_000_000, maxVariants: 1000 })
    expect(config.refreshDefaults).toEqual({ hotWindow: 600_000, priority: 'normal' })

    const { ftc, coc, blizzard } = config.upstreams
    expect(ftc).toMatchObject({
      name: 'ftc',
      url: 'https://ftc-api.firstinspires.org/v2.0',
      origin: 'https://ftc-api.firstinspires.org',
      basePath: '/v2.0',
      auth: { kind: 'basic', username: 'ftc-user', password: 'ftc-key-value' },
      budget: { rate: [{ count: 10, perMs: 1000 }], burst: 10, concurrency: 16, per: 'upstream' },
      timeout: 10_000,
      timeouts: { connect: 5000, headers: 10_000, body: 10_000 },
      retries: { max: 2, backoff: 250 },
      breaker: { failures: 5, cooldown: 30_000 },
      pauseOn: [429],
      expect: 'json',
    })
    expect(coc?.url).toBe('https://api.clashofclans.com/v1')
    expect(coc?.auth).toEqual({ kind: 'bearer', tokens: ['coc-key-one', 'coc-key-two'] })
    expect(coc?.budget).toMatchObject({ per: 'key', reserve: { kind: 'fraction', value: 0.25 } })
    expect(coc?.pauseOn).toEqual([403, 429])
    expect(blizzard?.auth).toEqual({ kind: 'query', name: 'access_token', values: ['dev-token'] })
    expect(blizzard?.headers).toEqual({ 'user-agent': 'cistern-test' })
    expect(blizzard?.budget.rate).toEqual([
      { count: 100, perMs: 1000 },
      { count: 36_000, perMs: 3_600_000 },
    ])
    expect(blizzard?.timeouts.connect).toBe(2000)
  })

  it('resolves routes with their defaults', async () => {
    const { routes } = await loadConfig(FIXTURE, ENV)
    const [teams, matches, events, verify, trigs] = routes
    expect(teams).toMatchObject({
      name: '/ftc/:season/teams/:team',
      path: '/ftc/:season/teams/:team',
      upstream: 'ftc',
      methods: ['GET', 'HEAD'],
      cache: true,
      ttl: 86_400_000,
      stale: 604_800_000,
      staleIfError: 604_800_000,
      jitter: 0,
      public: false,
      bypass: true,
      expect: 'json',
    })
    expect(teams?.pattern.params).toEqual(['season', 'team'])
    expect(teams?.to.render({ season: '2024', team: '1234' })).toBe('/2024/teams?teamNumber=1234')
    expect(teams?.tags[0]?.render({ team: '1234' })).toBe('team:1234')
    // `to` defaults to the path without the upstream's name in front.
    expect(matches?.to.source).toBe('/:season/matches/:event')
    expect(matches?.refresh).toEqual({
      every: 60_000,
      while: { kind: 'hot', window: 600_000 },
      priority: 'high',
    })
    expect(matches?.changes?.items?.list({ body: { matches: [{ matchNumber: 1 }] } })).toEqual([
      { matchNumber: 1 },
    ])
    expect(matches?.changes?.id?.evaluate({ item: { matchNumber: 7 } })).toBe(7)
    expect(matches?.warm?.paths[0]?.render({ params: { season: '2024' }, item: { matchNumber: 7 } })).toBe(
      '/ftc/2024/match/7',
    )
    expect(events?.name).toBe('ftc-events')
    expect(events?.refresh?.every).toBe(3_600_000) // defaults to the ttl
    const policy = events?.refresh?.while
    expect(policy?.kind).toBe('cel')
    if (policy?.kind === 'cel') {
      const body = { dateEnd: '2024-03-01T00:00:00Z' }
      expect(policy.expression.test({ body, now: Date.parse('2024-03-01T12:00:00Z') })).toBe(true)
      expect(policy.expression.test({ body, now: Date.parse('2024-03-03T00:00:00Z') })).toBe(false)
    }
    expect(verify).toMatchObject({ methods: ['POST'], cache: false, to: expect.anything() })
    expect(verify?.to.source).toBe('/players/:tag/verifytoken')
    expect(trigs).toMatchObject({ vary: ['accept-language'], query: { ignore: ['utm_source'] }, jitter: 0.1 })
    expect(trigs?.invalidates.map((t) => t.render({ id: '9' }))).toEqual(['trig:9', 'trigs:list'])
  })

  it('resolves webhooks and notify targets', async () => {
    const { webhooks, notify } = await loadConfig(FIXTURE, ENV)
    expect(webhooks[0]).toMatchObject({
      name: '/hooks/tba',
      path: '/hooks/tba',
      verify: { scheme: 'hmac-sha256', header: 'x-tba-hmac', encoding: 'hex', prefix: '', tolerance: 0 },
      maxBodySize: 1_000_000,
      replayWindow: 86_400_000,
      retention: 604_800_000,
    })
    const action = webhooks[0]?.on[0]
    expect(action?.soft).toBe(false)
    expect(action?.when?.test({ body: { message_type: 'match_score' } })).toBe(true)
    const body = { message_data: { event_key: '2024casj' } }
    expect(action?.invalidate[0]?.render({ body })).toBe('event:2024casj')
    expect(webhooks[1]?.verify).toMatchObject({
      scheme: 'stripe',
      header: 'stripe-signature',
      secrets: ['stripe-old-secret', 'stripe-new-secret'],
      tolerance: 300_000,
    })
    expect(notify[0]).toMatchObject({ kind: 'standard-webhooks', secret: ENV.NOTIFY_SECRET, routes: [] })
    expect(notify[1]).toMatchObject({ kind: 'discord', routes: ['ftc-events'] })
  })

  it('prints as JSON with templates and expressions as their source, and redacts every secret', async () => {
    const config = await loadConfig(FIXTURE, ENV)
    const json = JSON.parse(JSON.stringify(config))
    expect(json.routes[0].to).toBe('/:season/teams?teamNumber=:team')
    expect(json.routes[1].changes.items).toBe('body.matches')
    const printed = JSON.stringify(redactConfig(config))
    for (const [name, value] of Object.entries(ENV)) {
      if (name !== 'FTC_USER') expect(printed, name).not.toContain(value)
    }
    expect(printed).not.toContain('/api/webhooks/1/abc')
    expect(printed).toContain(MASK)
  })
})

describe('defaults', () => {
  it('an empty file is a valid config with every default', () => {
    const config = load('')
    expect(config).toMatchObject({
      listen: { host: '127.0.0.1', port: 8080 },
      admin: { listen: { host: '127.0.0.1', port: 8081 } },
      store: { kind: 'sqlite', path: '/srv/cistern/.cistern/cache.db', memory: 64_000_000 },
      limits: { maxBodySize: 1_000_000 },
      log: { level: 'info' },
      upstreams: {},
      routes: [],
      webhooks: [],
      notify: [],
    })
    expect(config.admin.token).toBeUndefined()
  })

  it('a route may leave out upstream when there is only one', () => {
    const [route] = load(`${UPSTREAM}routes:\n  - path: /teams/:id\n`).routes
    expect(route).toMatchObject({ upstream: 'api', name: '/teams/:id' })
    expect(route?.ttl).toBeUndefined() // follows the upstream's caching headers
    expect(route?.to.source).toBe('/teams/:id')
  })

  it('derived route names stay unique', () => {
    const config = load(`${UPSTREAM}routes:\n  - path: /a\n  - path: /a\n    methods: [POST]\n`)
    expect(config.routes.map((r) => r.name)).toEqual(['/a', '/a#2'])
  })

  it('listen accepts IPv6 and a bare port', () => {
    expect(load('listen: "[::1]:9000"').listen).toEqual({ host: '::1', port: 9000 })
    expect(load('listen: 9000').listen).toEqual({ host: '127.0.0.1', port: 9000 })
  })
})

describe('YAML 1.2', () => {
  it('`on` is a plain key and `yes` is a string', () => {
    const config = load(`${UPSTREAM}webhooks:
  - path: /hooks/x
    verify: { scheme: hmac-sha256, header: X-Sig, secret: yes }
    on:
      - invalidate: [all]
`)
    expect(config.webhooks[0]?.on).toHaveLength(1)
    expect(config.webhooks[0]?.verify.secrets).toEqual(['yes'])
  })
})

describe('loadConfig', () => {
  it('an unreadable file is a ConfigError (E_CONFIG)', async () => {
    const error = await loadConfig('/nonexistent/cistern.yaml').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toBeInstanceOf(CisternError)
    expect((error as ConfigError).code).toBe('E_CONFIG')
    expect((error as ConfigError).message).toMatch(/^\/nonexistent\/cistern\.yaml:1:1 cannot read/)
  })

  it('parseConfig reads process.env by default', () => {
    const text = readFileSync(FIXTURE, 'utf8').replace('${CISTERN_ADMIN_TOKEN}', '${CISTERN_TEST_TOKEN_X}')
    process.env.CISTERN_TEST_TOKEN_X = 'from-process-env'
    try {
      const config = parseConfig(text, 'x.yaml', { ...process.env, ...ENV })
      expect(config.admin.token).toBe('from-process-env')
    } finally {
      delete process.env.CISTERN_TEST_TOKEN_X
    }
  })
})
