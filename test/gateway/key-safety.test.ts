import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configWarnings } from '../../src/cli/check.js'
import { parseConfig } from '../../src/config/index.js'
import { credentialsOf } from '../../src/gateway/routing/cache-key.js'
import { MASK } from '../../src/util/redact.js'
import { type Harness, startHarness } from './harness.js'
import { type Origin, startOrigin } from './origin.js'

const yaml = `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  origin:
    url: "\${ORIGIN_URL}"
    clientCredentials: [X-Api-Key]
routes:
  - path: /forge/:id
    to: /forge/:id
    ttl: 1h
    vary: [x-a, x-b]
  - path: /lang/:id
    to: /lang/:id
    ttl: 1h
  - path: /http/:id
    to: /http/:id
  - path: /pub/:id
    to: /pub/:id
    ttl: 1h
    public: true
  - path: /q/:id
    to: /q/:id
    ttl: 1h
    query: { allow: [page] }
    maxVariants: 3
`

const env = { CISTERN_LISTEN: '127.0.0.1:0', CISTERN_DB: '/tmp/x.db', ORIGIN_URL: 'http://127.0.0.1:1' }

describe('gateway: keys cannot be forged, shared or grown without bound', () => {
  let origin: Origin
  let h: Harness
  beforeAll(async () => {
    origin = await startOrigin()
    h = await startHarness({ yaml, env: { ORIGIN_URL: origin.url } })
  })
  afterAll(async () => {
    await h.close()
    await origin.close()
  })
  const xcache = (res: Response) => res.headers.get('x-cache-status')
  const status = (res: Response) => res.headers.get('cache-status') ?? ''
  const json = async (res: Response) => (await res.json()) as Record<string, string | null>

  describe('cache-key forging', () => {
    it("a forged vary header value never reads another client's entry", async () => {
      const alice = { authorization: 'Bearer alice-secret' }
      const first = await h.get('/forge/1', { 'x-a': '1', 'x-b': '2', ...alice })
      expect(xcache(first)).toBe('MISS')
      expect((await json(first)).authorization).toBe('Bearer alice-secret')
      // The hash an attacker would need, spelled in the old and the current key syntax.
      const credentials = credentialsOf(alice)!
      const legacy = createHash('sha256').update(`${alice.authorization}\n`).digest('base64url').slice(0, 22)
      const current = createHash('sha256').update(credentials).digest('base64url').slice(0, 22)
      for (const forged of [`2#auth=${legacy}`, `2#@auth=${current}`, `2#x-b=2#@auth=${current}`]) {
        const res = await h.get('/forge/1', { 'x-a': '1', 'x-b': forged })
        expect(xcache(res), forged).toBe('MISS')
        expect((await json(res)).authorization, forged).toBeNull()
      }
      // Alice still gets hers; and the hash never reaches a client.
      const again = await h.get('/forge/1', { 'x-a': '1', 'x-b': '2', ...alice })
      expect(xcache(again)).toBe('HIT')
      expect(status(again)).toContain(`#@auth=${MASK}`)
      expect(status(again)).not.toContain(current)
    })

    it('a key made too long by client values is a 400 naming the limit, not an upstream error', async () => {
      const calls = origin.calls.length
      const res = await h.get('/forge/1', { 'x-a': 'a'.repeat(2000), 'x-b': '2' })
      expect(res.status).toBe(400)
      expect(xcache(res)).toBe('ERROR')
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('key_too_long')
      expect(body.error.message).toContain('1024')
      expect(origin.calls.length).toBe(calls)
    })

    it("a configured credential header keys like Authorization: as a hash, one client's entry each", async () => {
      const alice = await h.get('/forge/3', { 'x-api-key': 'alice-key' })
      expect((await json(alice)).apiKey).toBe('alice-key')
      const bob = await h.get('/forge/3', { 'x-api-key': 'bob-key' })
      expect(xcache(bob)).toBe('MISS')
      expect((await json(bob)).apiKey).toBe('bob-key')
      expect(xcache(await h.get('/forge/3'))).toBe('MISS')
      const again = await h.get('/forge/3', { 'x-api-key': 'alice-key' })
      expect(xcache(again)).toBe('HIT')
      expect(status(again)).not.toContain('alice-key')
    })

    it('a vary value holding # or = cannot spell another header', async () => {
      expect(xcache(await h.get('/forge/2', { 'x-a': '1#x-b=2' }))).toBe('MISS')
      expect(xcache(await h.get('/forge/2', { 'x-a': '1', 'x-b': '2' }))).toBe('MISS')
      expect(xcache(await h.get('/forge/2', { 'x-a': '1#x-b=2' }))).toBe('HIT')
    })
  })

  describe("the upstream's Vary", () => {
    for (const route of ['lang', 'http']) {
      it(`/${route}: a German answer is never served to a French client`, async () => {
        origin.headersFor.set(`/${route}/1`, { vary: 'Accept-Language' })
        const de = await h.get(`/${route}/1`, { 'accept-language': 'de' })
        expect((await json(de)).acceptLanguage).toBe('de')
        const fr = await h.get(`/${route}/1`, { 'accept-language': 'fr' })
        expect((await json(fr)).acceptLanguage).toBe('fr')
        // The answer that taught the route is kept under its own key: German hits from the start.
        const deAgain = await h.get(`/${route}/1`, { 'accept-language': 'de' })
        expect(xcache(deAgain)).toBe('HIT')
        expect((await json(deAgain)).acceptLanguage).toBe('de')
        for (const lang of ['de', 'fr', 'de', 'fr']) {
          const res = await h.get(`/${route}/1`, { 'accept-language': lang })
          expect((await json(res)).acceptLanguage).toBe(lang)
        }
        // Once the route keys on Accept-Language, each language is kept and hit.
        const hit = await h.get(`/${route}/1`, { 'accept-language': 'fr' })
        expect(xcache(hit)).toBe('HIT')
        expect(status(hit)).toContain('#@vary:accept-language=fr')
        // fetch() sends Accept-Language: * when none is given: another variant still.
        const other = await h.get(`/${route}/1`)
        expect((await json(other)).acceptLanguage).toBe('*')
      })
    }

    it('concurrent clients with different languages each get their own answer', async () => {
      origin.headersFor.set('/lang/2', { vary: 'accept-language' })
      origin.delayFor.set('/lang/2', 150)
      const langs = ['de', 'fr', 'nb', 'de', 'fr', 'nb']
      const answers = await Promise.all(
        langs.map(async (lang) => json(await h.get('/lang/2', { 'accept-language': lang }))),
      )
      expect(answers.map((a) => a.acceptLanguage)).toEqual(langs)
    })

    it('a background refresh of a variant asks the upstream with its header', async () => {
      origin.headersFor.set('/lang/3', { vary: 'Accept-Language' })
      await h.get('/lang/3', { 'accept-language': 'nb' })
      await h.get('/lang/3', { 'accept-language': 'nb' })
      expect(xcache(await h.get('/lang/3', { 'accept-language': 'nb' }))).toBe('HIT')
      const outcome = await h.gateway.refreshKey('/lang/3#@vary:accept-language=nb')
      expect(outcome.kind).toBe('refreshed')
      expect(origin.calls.at(-1)!.url).toBe('/lang/3')
      expect(origin.calls.at(-1)!.headers['accept-language']).toBe('nb')
      expect(xcache(await h.get('/lang/3', { 'accept-language': 'nb' }))).toBe('HIT')
    })

    it('Vary: * is never stored', async () => {
      origin.headersFor.set('/lang/star', { vary: '*' })
      expect(xcache(await h.get('/lang/star'))).toBe('MISS')
      const second = await h.get('/lang/star')
      expect(xcache(second)).toBe('MISS')
      expect(status(second)).toContain('uncacheable: vary-star')
    })

    it('Vary: Accept-Encoding makes no variants (cistern negotiates encodings itself)', async () => {
      origin.headersFor.set('/lang/enc', { vary: 'Accept-Encoding' })
      expect(xcache(await h.get('/lang/enc', { 'accept-encoding': 'gzip' }))).toBe('MISS')
      expect(xcache(await h.get('/lang/enc', { 'accept-encoding': 'br' }))).toBe('HIT')
      expect(xcache(await h.get('/lang/enc', { 'accept-encoding': 'identity' }))).toBe('HIT')
    })
  })

  describe('public routes', () => {
    it("forward no client credentials: two clients never see each other's answer", async () => {
      const alice = await h.get('/pub/whoami', {
        authorization: 'Bearer alice',
        cookie: 'sid=a',
        'x-api-key': 'alice-key',
      })
      const bob = await h.get('/pub/whoami', {
        authorization: 'Bearer bob',
        cookie: 'sid=b',
        'x-api-key': 'bob',
      })
      for (const res of [alice, bob]) {
        const body = await json(res)
        expect(body.authorization).toBeNull()
        expect(body.cookie).toBeNull()
        expect(body.apiKey).toBeNull()
      }
      expect(xcache(bob)).toBe('HIT')
      const calls = origin.calls.filter((call) => call.url === '/pub/whoami')
      expect(calls.length).toBe(1)
      expect(calls[0]!.headers.authorization).toBeUndefined()
    })

    for (const [name, headers] of [
      ['private', { 'cache-control': 'private, max-age=60' }],
      ['no-store', { 'cache-control': 'no-store' }],
      ['set-cookie', { 'set-cookie': 'sid=upstream' }],
    ] as const) {
      it(`never store a ${name} answer, and say so`, async () => {
        origin.headersFor.set(`/pub/${name}`, headers)
        expect(xcache(await h.get(`/pub/${name}`))).toBe('MISS')
        const second = await h.get(`/pub/${name}`)
        expect(xcache(second)).toBe('MISS')
        expect(status(second)).toContain(`uncacheable: ${name}`)
        expect(second.headers.get('set-cookie')).toBeNull()
      })
    }

    it('credentials may not join a key in the clear through vary', () => {
      for (const name of ['Authorization', 'Cookie', 'X-Api-Key']) {
        const withVary = yaml.replace('vary: [x-a, x-b]', `vary: [x-a, ${name}]`)
        expect(() => parseConfig(withVary, '/tmp/cistern.yaml', env), name).toThrow(/vary/)
      }
    })

    it('cistern check warns about a public route on an upstream without auth', () => {
      const config = parseConfig(yaml, '/tmp/cistern.yaml', env)
      const warnings = configWarnings(config)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain('route /pub/:id is public but upstream origin has no auth')
    })
  })

  describe('query allow-list and maxVariants', () => {
    it('only allowed params join the key and reach the upstream', async () => {
      expect(xcache(await h.get('/q/1?page=1&junk=a'))).toBe('MISS')
      expect(origin.calls.at(-1)!.url).toBe('/q/1?page=1')
      const again = await h.get('/q/1?junk=b&page=1')
      expect(xcache(again)).toBe('HIT')
      expect(status(again)).toContain('key="/q/1?page=1"')
    })

    it('over maxVariants an answer is served but not stored', async () => {
      for (const page of [1, 2, 3]) expect(xcache(await h.get(`/q/2?page=${page}`))).toBe('MISS')
      const over = await h.get('/q/2?page=4')
      expect(xcache(over)).toBe('MISS')
      expect((await json(over)).query).toBe('page=4')
      const again = await h.get('/q/2?page=4')
      expect(xcache(again)).toBe('MISS')
      expect(status(again)).toContain('uncacheable: max-variants')
      expect(xcache(await h.get('/q/2?page=2'))).toBe('HIT')
      // Other paths have their own count.
      expect(xcache(await h.get('/q/3?page=4'))).toBe('MISS')
      expect(xcache(await h.get('/q/3?page=4'))).toBe('HIT')
    })
  })
})
