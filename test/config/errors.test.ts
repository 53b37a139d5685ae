// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references on purpose
import { describe, expect, it } from 'vitest'
import { ConfigError, formatIssue } from '../../src/config/index.js'
import { CisternError } from '../../src/util/errors.js'
import { configError, onlyIssue, UPSTREAM } from './helpers.js'

describe('each class of error names file:line:column, the key path and what was expected', () => {
  it('a bad duration', () => {
    const text = `upstreams:
  api:
    url: https://api.example.com
routes:
  - path: /a
    upstream: api
    ttl: 1m
  - path: /b
    upstream: api
    ttl: 2m
  - path: /c
    upstream: api
    stale: 1h
    ttl: 5 minutes
`
    const error = configError(text)
    expect(error).toBeInstanceOf(CisternError)
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toBe(
      'cistern.yaml:14:10 routes[2].ttl: "5 minutes" is not a duration (expected e.g. 90s, 5m, 24h)',
    )
    expect(error.issues[0]).toMatchObject({
      file: 'cistern.yaml',
      line: 14,
      column: 10,
      path: 'routes[2].ttl',
      segments: ['routes', 2, 'ttl'],
      kind: 'value',
    })
  })

  it('a wrong type', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:\n  - path: /a\n    cache: yes\n`)
    expect(issue).toMatchObject({ line: 6, column: 12, path: 'routes[0].cache', kind: 'type' })
    expect(issue.message).toBe('expected true or false, got the string "yes"')
  })

  it('a missing required key points at the map it belongs in', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:\n  - upstream: api\n    ttl: 1m\n`)
    expect(issue).toMatchObject({ line: 5, column: 5, path: 'routes[0].path', kind: 'type' })
    expect(issue.message).toBe('is required (expected a string)')
  })

  it('an unknown key, at the key, with a suggestion', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:\n  - path: /a\n    ttll: 5m\n`)
    expect(issue).toMatchObject({ line: 6, column: 5, path: 'routes[0].ttll', kind: 'unknown-key' })
    expect(issue.message).toBe('unknown key "ttll" (did you mean "ttl"?)')
    expect(onlyIssue('zzz: 1\n').message).toBe('unknown key "zzz"')
  })

  it('an unknown enum value, with a suggestion', () => {
    const issue = onlyIssue('store:\n  kind: sqlit\n')
    expect(formatIssue(issue)).toBe(
      'cistern.yaml:2:9 store.kind: the string "sqlit" is not one of: memory, sqlite, redis, postgres (did you mean "sqlite"?)',
    )
  })

  it('a missing environment variable', () => {
    const issue = onlyIssue('admin:\n  token: ${CISTERN_ADMIN_TOKEN}\n')
    expect(formatIssue(issue)).toBe(
      'cistern.yaml:2:10 admin.token: environment variable CISTERN_ADMIN_TOKEN is not set (referenced as ${CISTERN_ADMIN_TOKEN})',
    )
    expect(issue.kind).toBe('env')
  })

  it('a CEL syntax error, at the expression', () => {
    const issue = onlyIssue(
      `${UPSTREAM}routes:\n  - path: /a\n    ttl: 1m\n    refresh: { while: "body.x ==" }\n`,
    )
    expect(issue).toMatchObject({ line: 7, column: 23, path: 'routes[0].refresh.while', kind: 'cel' })
    expect(issue.message).toMatch(/^invalid CEL expression "body.x ==": Unexpected token/)
  })

  it('a CEL expression using a variable that does not exist', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:
  - path: /a
    ttl: 1m
    changes: { items: body.matches, id: itm.id }
`)
    expect(issue).toMatchObject({ line: 7, path: 'routes[0].changes.id', kind: 'cel' })
    expect(issue.message).toContain('Unknown variable: itm')
  })

  it('a route pointing at an unknown upstream', () => {
    const text = `upstreams:
  ftc: { url: "https://ftc.example" }
  coc: { url: "https://coc.example" }
routes:
  - path: /a
    upstream: ftx
`
    const issue = onlyIssue(text)
    expect(formatIssue(issue)).toBe(
      'cistern.yaml:6:15 routes[0].upstream: unknown upstream "ftx" (did you mean "ftc"?); upstreams are: ftc, coc',
    )
    expect(issue.kind).toBe('reference')
  })

  it('`to` using a parameter the path does not have', () => {
    const issue = onlyIssue(
      `${UPSTREAM}routes:\n  - path: /ftc/:season/teams/:team\n    to: /:season/teams?n=:teem\n`,
    )
    expect(issue).toMatchObject({ line: 6, column: 9, path: 'routes[0].to', kind: 'template' })
    expect(issue.message).toBe(
      'unknown parameter "teem" in "/:season/teams?n=:teem" (did you mean "team"?); the path has :season, :team',
    )
  })

  it('a tag naming an unknown parameter', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:\n  - path: /teams/:team\n    tags: ["a", "team:{tema}"]\n`)
    expect(issue).toMatchObject({ line: 6, column: 17, path: 'routes[0].tags[1]', kind: 'template' })
    expect(issue.message).toContain('did you mean "team"?')
  })

  it('a duplicate key', () => {
    const issue = onlyIssue('listen: 127.0.0.1:8080\nlog: { level: info }\nlisten: 127.0.0.1:9090\n')
    expect(formatIssue(issue)).toBe(
      'cistern.yaml:3:1 listen: duplicate key "listen" (first defined at line 1)',
    )
    expect(issue.kind).toBe('duplicate-key')
  })

  it('a YAML syntax error', () => {
    const issue = onlyIssue('routes:\n  - path: /a\n    tags: [a, b\nlog: {}\n')
    expect(issue.kind).toBe('yaml')
    expect(issue.line).toBeGreaterThanOrEqual(3)
    expect(issue.message).toContain('Flow sequence')
  })

  it('an unknown YAML tag', () => {
    const issue = onlyIssue('log:\n  level: !shout info\n')
    expect(formatIssue(issue)).toBe('cistern.yaml:2:10 Unresolved tag: !shout')
  })

  it('a bad path pattern', () => {
    const issue = onlyIssue(`${UPSTREAM}routes:\n  - path: /teams/:id.json\n`)
    expect(issue).toMatchObject({ line: 5, column: 11, path: 'routes[0].path', kind: 'template' })
    expect(issue.message).toContain('a parameter is a whole segment')
  })

  it('a bad upstream name, at the name', () => {
    const issue = onlyIssue('upstreams:\n  "my api": { url: "https://x.example" }\n')
    expect(issue).toMatchObject({ line: 2, column: 3, path: 'upstreams["my api"]' })
  })

  it('an unusable rate, even though util/units parses it', () => {
    const issue = onlyIssue(`upstreams:\n  api:\n    url: https://x.example\n    budget: { rate: 1/0s }\n`)
    expect(issue).toMatchObject({ line: 4, column: 21, path: 'upstreams.api.budget.rate' })
  })

  it('durations and sizes too large to be exact', () => {
    const big = '9'.repeat(30)
    const error = configError(`store: { timeout: ${big}s, memory: ${big}MB }\n`)
    expect(error.issues.map((i) => [i.path, i.message])).toEqual([
      ['store.timeout', `"${big}s" is too long a duration`],
      ['store.memory', `"${big}MB" is too large a size`],
    ])
  })

  it('a bad element of a list, at the element', () => {
    const issue = onlyIssue('upstreams:\n  api:\n    url: https://x.example\n    auth: { bearer: [ok, 5] }\n')
    expect(issue).toMatchObject({ line: 4, column: 26, path: 'upstreams.api.auth.bearer[1]' })
    expect(issue.message).toBe('expected a string, got the number 5')
  })
})

describe('several errors', () => {
  it('are all reported, in file order, under one header', () => {
    const error = configError('store:\n  kind: sqlit\nadmn: {}\nlisten: nope\n')
    expect(error.issues.map((i) => [i.line, i.path])).toEqual([
      [2, 'store.kind'],
      [3, 'admn'],
      [4, 'listen'],
    ])
    expect(error.message.split('\n')[0]).toBe('cistern.yaml: 3 configuration errors')
    expect(error.message.split('\n')).toHaveLength(4)
  })
})

describe('cross-checks', () => {
  const check = (text: string) => onlyIssue(text)

  it('invalidates needs a write method', () => {
    const issue = check(`${UPSTREAM}routes:\n  - path: /t/:id\n    invalidates: ["t:{id}"]\n`)
    expect(issue.path).toBe('routes[0].invalidates')
    expect(issue.message).toContain('write methods')
  })

  it('prewarm paths must match the route', () => {
    const issue = check(`${UPSTREAM}routes:\n  - path: /t/:id\n    prewarm: [/t/1, /u/2]\n`)
    expect(issue).toMatchObject({ path: 'routes[0].prewarm[1]', line: 6, column: 21 })
  })

  it('refresh needs every or a ttl', () => {
    const issue = check(`${UPSTREAM}routes:\n  - path: /t\n    refresh: { while: always }\n`)
    expect(issue).toMatchObject({ path: 'routes[0].refresh.every', line: 6, column: 14 })
  })

  it('items and id go together', () => {
    const issue = check(`${UPSTREAM}routes:\n  - path: /t\n    ttl: 1m\n    changes: { items: body.list }\n`)
    expect(issue.path).toBe('routes[0].changes.id')
  })

  it('two routes answering the same method and path', () => {
    const issue = check(`${UPSTREAM}routes:\n  - path: /t/:a\n  - path: /t/:b\n    methods: [GET]\n`)
    expect(issue).toMatchObject({ path: 'routes[1].path', line: 6 })
    expect(issue.message).toBe('GET /t/:b is already answered by routes[0]')
  })

  it('an admin listener off loopback needs a token', () => {
    const issue = check('admin:\n  listen: 0.0.0.0:8081\n')
    expect(issue).toMatchObject({ path: 'admin.listen', line: 2, column: 11 })
  })

  it('the admin listener may not share the gateway port', () => {
    expect(check('listen: 0.0.0.0:8080\nadmin: { listen: 127.0.0.1:8080, token: t }\n').path).toBe(
      'admin.listen',
    )
  })

  it('redis needs a url', () => {
    expect(check('store:\n  kind: redis\n')).toMatchObject({ path: 'store.url', line: 2, kind: 'type' })
  })

  it('a namespace belongs to redis or postgres and is a short plain name', () => {
    expect(check('store: { kind: sqlite, namespace: app }\n')).toMatchObject({ path: 'store.namespace' })
    expect(check('store: { kind: redis, url: "redis://r", namespace: "a b" }\n').path).toBe('store.namespace')
    expect(check('store: { kind: redis, url: "http://r" }\n').message).toContain('redis-sentinel://')
  })

  it('notify route filters name existing routes', () => {
    const issue = check(`${UPSTREAM}routes:\n  - { name: teams, path: /t }
notify:\n  - { url: "https://n.example", secret: s, routes: [teams, taems] }\n`)
    expect(issue).toMatchObject({ path: 'notify[0].routes[1]', kind: 'reference' })
    expect(issue.message).toBe('unknown route "taems" (did you mean "teams"?)')
  })

  it('webhook templates read body, headers or path params only', () => {
    const issue = check(`webhooks:
  - path: /hooks/x
    verify: { scheme: hmac-sha256, header: X-Sig, secret: s }
    on:
      - invalidate: ["e:{body.key}", "e:{bdy.key}"]
`)
    expect(issue).toMatchObject({ path: 'webhooks[0].on[0].invalidate[1]', kind: 'template' })
    expect(issue.message).toContain('did you mean "body"?')
  })

  it('scheme-fixed verify settings are refused', () => {
    const issue = check(`webhooks:
  - path: /hooks/x
    verify: { scheme: standard-webhooks, header: X-Sig, secret: whsec_abc }
    on: [{ invalidate: [x] }]
`)
    expect(issue).toMatchObject({ path: 'webhooks[0].verify.header', line: 3, column: 50 })
  })

  it('ConfigError lists its issues', () => {
    const error = configError('listen: nope\n')
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.file).toBe('cistern.yaml')
    expect(error.issues).toHaveLength(1)
  })
})

describe('feed', () => {
  it('public: true needs tokens, reported in the feed map', () => {
    const error = configError('listen: 127.0.0.1:8080\nfeed:\n  public: true\n')
    expect(error.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [
        3,
        'feed.tokens',
        'is required with public: true (the public port never serves the change feed without a token)',
      ],
    ])
  })

  it('a zero heartbeat, a zero cap and an unknown key are errors at their line', () => {
    const error = configError('feed:\n  heartbeat: 0\n  maxConnections: 0\n  token: x\n')
    expect(error.issues.map((i) => [i.line, i.path])).toEqual([
      [2, 'feed.heartbeat'],
      [3, 'feed.maxConnections'],
      [4, 'feed.token'],
    ])
  })

  it('a feed token with a space, or equal to the admin token, is an error at the token', () => {
    const spaced = configError('feed:\n  tokens:\n    - "a b"\n')
    expect(spaced.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [3, 'feed.tokens[0]', 'must not contain spaces (it is sent as Authorization: Bearer <token>)'],
    ])
    const reused = configError('admin: { token: same-token }\nfeed:\n  tokens: [other-token, same-token]\n')
    expect(reused.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [3, 'feed.tokens[1]', 'must differ from admin.token'],
    ])
  })
})
