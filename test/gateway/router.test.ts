import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { Router } from '../../src/gateway/routing/router.js'

const config = parseConfig(
  `
listen: 127.0.0.1:0
store: { kind: memory }
upstreams:
  api: { url: "http://127.0.0.1:9/" }
routes:
  - path: /teams/:team
    upstream: api
    ttl: 1m
  - path: /teams/:team
    upstream: api
    methods: [PUT]
  - path: /files/*rest
    upstream: api
    ttl: 1m
`,
  '/tmp/router.yaml',
  {},
)

describe('Router', () => {
  it('matches in config order, decodes params, and answers 405 with the allowed methods', () => {
    const router = new Router(config.routes)
    const get = router.match('GET', '/teams/caf%C3%A9')
    expect(get).toMatchObject({ kind: 'route', params: { team: 'café' } })
    expect(router.match('PUT', '/teams/1')).toMatchObject({ kind: 'route', route: router.routes[1] })
    expect(router.match('DELETE', '/teams/1')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'HEAD', 'PUT'],
    })
    expect(router.match('GET', '/files/a/b')).toMatchObject({ params: { rest: 'a/b' } })
    expect(router.match('GET', '/nothing')).toEqual({ kind: 'none' })
  })

  it('remembers a match per method and path, and its params cannot be changed', () => {
    const router = new Router(config.routes)
    const first = router.match('GET', '/teams/7')
    const again = router.match('GET', '/teams/7')
    expect(again).toBe(first)
    if (again.kind !== 'route') throw new Error('expected a route')
    expect(Object.isFrozen(again.params)).toBe(true)
    expect(() => {
      ;(again.params as Record<string, string>).team = '8'
    }).toThrow(TypeError)
    // The same path under another method is matched on its own.
    expect(router.match('PUT', '/teams/7')).toMatchObject({ route: router.routes[1] })
    expect(router.match('GET', '/teams/7')).toBe(first)
  })

  it('keeps the memo bounded: after 10,000 paths it starts over and still answers right', () => {
    const router = new Router(config.routes)
    const early = router.match('GET', '/teams/0')
    for (let i = 1; i <= 10_000; i++) router.match('GET', `/teams/${i}`)
    const later = router.match('GET', '/teams/0')
    expect(later).not.toBe(early)
    expect(later).toEqual(early)
  })
})
