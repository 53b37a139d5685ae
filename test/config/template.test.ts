import { describe, expect, it } from 'vitest'
import {
  compileTemplate,
  PathPatternError,
  parsePathPattern,
  TemplateSyntaxError,
} from '../../src/config/index.js'

describe('compileTemplate', () => {
  it('fills {name} and {a.b.c} refs', () => {
    const tag = compileTemplate('event:{body.message_data.event_key}')
    expect(tag.refs.map((r) => r.text)).toEqual(['body.message_data.event_key'])
    expect(tag.render({ body: { message_data: { event_key: '2024casj' } } })).toBe('event:2024casj')
    expect(compileTemplate('{a}-{b}').render({ a: 1, b: true })).toBe('1-true')
    expect(compileTemplate('{list.0}').render({ list: ['x'] })).toBe('x')
  })

  it('gives undefined when a value is missing or not a scalar', () => {
    const tag = compileTemplate('team:{team}')
    expect(tag.render({})).toBeUndefined()
    expect(tag.render({ team: { nested: 1 } })).toBeUndefined()
    expect(tag.render({ team: null })).toBeUndefined()
    expect(compileTemplate('{toString}').render({})).toBeUndefined()
  })

  it('encodes inserted values only', () => {
    const to = compileTemplate('/teams?q=:q', { colonParams: true })
    expect(to.render({ q: 'a b/c' }, encodeURIComponent)).toBe('/teams?q=a%20b%2Fc')
  })

  it(':params only in `to`, and only after / or =', () => {
    const to = compileTemplate('/:season/items:batchGet?team=:team&x={y}', { colonParams: true })
    expect(to.refs.map((r) => r.text)).toEqual(['season', 'team', 'y'])
    expect(compileTemplate('/:season').refs).toEqual([])
  })

  it('{{ and }} are literal braces; anything else unbalanced is an error', () => {
    expect(compileTemplate('{{x}}').render({})).toBe('{x}')
    expect(() => compileTemplate('{x')).toThrow(TemplateSyntaxError)
    expect(() => compileTemplate('x}')).toThrow(/unmatched "}"/)
    expect(() => compileTemplate('{}')).toThrow(/not a valid reference/)
    expect(() => compileTemplate('{a..b}')).toThrow(/not a valid reference/)
  })

  it('serializes to its source', () => {
    expect(JSON.stringify([compileTemplate('t:{x}')])).toBe('["t:{x}"]')
  })
})

describe('parsePathPattern', () => {
  it('matches paths and returns raw params', () => {
    const pattern = parsePathPattern('/ftc/:season/teams/:team')
    expect(pattern.params).toEqual(['season', 'team'])
    expect(pattern.shape).toBe('/ftc/:/teams/:')
    expect(pattern.match('/ftc/2024/teams/1234')).toEqual({ season: '2024', team: '1234' })
    expect(pattern.match('/ftc/2024/teams/a%20b')).toEqual({ season: '2024', team: 'a%20b' })
    expect(pattern.match('/ftc/2024/teams')).toBeUndefined()
    expect(pattern.match('/ftc/2024/teams/1/x')).toBeUndefined()
    expect(pattern.match('/ftc//teams/1')).toBeUndefined()
  })

  it('a splat takes the rest of the path', () => {
    const pattern = parsePathPattern('/files/*path')
    expect(pattern.match('/files/a/b/c')).toEqual({ path: 'a/b/c' })
    expect(pattern.match('/files/')).toBeUndefined()
    expect(parsePathPattern('/x/*').params).toEqual(['rest'])
  })

  it('the root and trailing slashes are literal', () => {
    expect(parsePathPattern('/').match('/')).toEqual({})
    expect(parsePathPattern('/a/').match('/a')).toBeUndefined()
    expect(parsePathPattern('/a/').match('/a/')).toEqual({})
  })

  it('refuses malformed patterns', () => {
    for (const bad of [
      'a',
      '/a//b',
      '/a?x=1',
      '/:id.json',
      '/:',
      '/:a/:a',
      '/*x/y',
      '/a b',
      '/../x',
      '/{x}',
    ]) {
      expect(() => parsePathPattern(bad), bad).toThrow(PathPatternError)
    }
  })
})
