import type { IncomingHttpHeaders } from 'node:http'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cacheKey,
  isPrivateKey,
  normalizeSelecting,
  parseKey,
  pathOfKey,
  redactKey,
  targetOfKey,
} from '../../src/gateway/routing/cache-key.js'
import { normalizeQuery, parseTarget } from '../../src/gateway/routing/request-target.js'
import { MASK } from '../../src/util/redact.js'

/**
 * Key injectivity, checked on inputs built from the characters the key syntax uses, so raw
 * concatenation would collide all the time: two requests share a key only when they agree on
 * everything the key stands for.
 */

// Small alphabets make near-collisions (a value that spells a separator and another part) likely.
const tricky = fc.constantFrom(
  'a',
  'b',
  '1',
  '#',
  '=',
  '@',
  '%',
  '2',
  '3',
  ':',
  ',',
  ' ',
  '?',
  '&',
  'auth',
  'vary:',
)
const text = fc.array(tricky, { maxLength: 6 }).map((parts) => parts.join(''))
const headerNames = ['x-a', 'x-b', 'auth', 'x#c', 'x%d', 'accept-language']

interface Input {
  path: string
  query: string
  headers: IncomingHttpHeaders
  vary: string[]
  responseVary: string[]
  isPublic: boolean
}

const input: fc.Arbitrary<Input> = fc
  .record({
    // Paths as parseTarget hands them over (no fragment, no query).
    path: fc
      .array(fc.constantFrom('a', 'b', '%41', '@', '=', ':', ','), { maxLength: 4 })
      .map((s) => `/${s.join('')}`),
    rawQuery: fc.array(fc.tuple(text, text), { maxLength: 3 }),
    values: fc.dictionary(fc.constantFrom(...headerNames), text, { maxKeys: 6 }),
    vary: fc.subarray(headerNames.filter((n) => n !== 'accept-language')),
    responseVary: fc.subarray(['accept', 'accept-language']),
    authorization: fc.option(text, { nil: undefined }),
    cookie: fc.option(text, { nil: undefined }),
    isPublic: fc.boolean(),
  })
  .map(({ path, rawQuery, values, vary, responseVary, authorization, cookie, isPublic }) => {
    const headers: IncomingHttpHeaders = { ...values }
    if (authorization !== undefined) headers.authorization = authorization
    if (cookie !== undefined) headers.cookie = cookie
    const query = normalizeQuery(new URLSearchParams(rawQuery).toString(), new Set())
    return { path, query, headers, vary, responseVary, isPublic }
  })

const keyOf = (i: Input) => cacheKey(i.path, i.query, i.headers, i.vary, i.isPublic, i.responseVary)

/** Everything a key must tell apart, and nothing else. */
function meaning(i: Input) {
  const h = i.headers
  const value = (name: string) => (h[name] === undefined ? undefined : String(h[name]))
  return {
    path: i.path,
    query: i.query,
    vary: i.vary.filter((name) => h[name] !== undefined).map((name) => [name, value(name)]),
    responseVary: i.responseVary.map((name) => [
      name,
      h[name] === undefined ? null : normalizeSelecting(value(name)!),
    ]),
    credentials:
      i.isPublic || (h.authorization === undefined && h.cookie === undefined)
        ? null
        : [h.authorization ?? null, h.cookie ?? null],
  }
}

describe('cache keys are injective', () => {
  it('two inputs with one key mean the same request (20k pairs)', () => {
    fc.assert(
      fc.property(input, input, (a, b) => {
        if (keyOf(a) === keyOf(b)) expect(meaning(a)).toEqual(meaning(b))
      }),
      { numRuns: 20_000 },
    )
  })

  it("a value spelling the rest of another client's key does not reach that key (20k)", () => {
    // The attack: the last vary header's value carries what follows it in the victim's key (more
    // vary parts, the credentials part), sent without credentials.
    fc.assert(
      fc.property(input, (victim) => {
        const present = victim.vary.filter((name) => victim.headers[name] !== undefined)
        const last = present.at(-1)
        if (last === undefined) return
        const key = keyOf(victim)
        const part = `#${last}=${victim.headers[last]}`
        const at = key.indexOf(part)
        if (at === -1) return // the value needed escaping, so the key does not hold it raw
        const { authorization: _a, cookie: _c, ...headers } = victim.headers
        headers[last] = `${victim.headers[last]}${key.slice(at + part.length)}`
        const forged = { ...victim, headers }
        if (keyOf(forged) === key) expect(meaning(forged)).toEqual(meaning(victim))
      }),
      { numRuns: 20_000 },
    )
  })

  it('the key parser gives back what the key was built from (10k)', () => {
    fc.assert(
      fc.property(input, (i) => {
        const key = keyOf(i)
        const parsed = parseKey(key)
        expect(parsed.path).toBe(i.path)
        expect(pathOfKey(key)).toBe(i.path)
        expect(parsed.query).toBe(i.query)
        expect(targetOfKey(key)).toBe(i.query === '' ? i.path : `${i.path}?${i.query}`)
        expect(parsed.responseVary).toEqual(i.responseVary)
        const credentials =
          !i.isPublic && (i.headers.authorization !== undefined || i.headers.cookie !== undefined)
        // A route vary header named `auth` is taken for credentials too: the safe side.
        expect(parsed.private).toBe(credentials || (i.vary.includes('auth') && i.headers.auth !== undefined))
        expect(isPrivateKey(key)).toBe(parsed.private)
        for (const name of i.vary) {
          if (i.headers[name] !== undefined && !i.responseVary.includes(name))
            expect(parsed.headers[name]).toBe(String(i.headers[name]))
        }
        if (credentials) {
          const shown = redactKey(key)
          expect(shown.endsWith(`#@auth=${MASK}`)).toBe(true)
        } else expect(redactKey(key)).toBe(key)
      }),
      { numRuns: 10_000 },
    )
  })

  it('paths from parseTarget never hold the characters that end the path part', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (raw) => {
        const target = parseTarget(`/${raw}`)
        if (typeof target !== 'string') expect(target.path).not.toMatch(/[#?]/)
      }),
      { numRuns: 10_000 },
    )
  })
})
