import { describe, expect, it } from 'vitest'
import { compileExpression, ExpressionError } from '../../src/config/index.js'

describe('compileExpression', () => {
  it('timestamp(body.dateEnd) + duration("24h") > now reads as it should', () => {
    const onToday = compileExpression('timestamp(body.dateEnd) + duration("24h") > now', { expect: 'bool' })
    const body = { dateEnd: '2024-03-01T18:00:00Z' }
    expect(onToday.test({ body, now: new Date('2024-03-01T20:00:00Z') })).toBe(true)
    expect(onToday.test({ body, now: new Date('2024-03-02T17:59:59Z') })).toBe(true)
    expect(onToday.test({ body, now: Date.parse('2024-03-02T18:00:01Z') })).toBe(false)
    expect(onToday.source).toBe('timestamp(body.dateEnd) + duration("24h") > now')
    expect(JSON.stringify({ while: onToday })).toBe(
      '{"while":"timestamp(body.dateEnd) + duration(\\"24h\\") > now"}',
    )
  })

  it('compiles once and evaluates many times with different variables', () => {
    const when = compileExpression('body.message_type == "match_score" && headers["x-tba-hmac"] != ""')
    for (let i = 0; i < 100; i++) {
      const type = i % 2 === 0 ? 'match_score' : 'awards_posted'
      expect(when.test({ body: { message_type: type }, headers: { 'x-tba-hmac': 'abc' } })).toBe(i % 2 === 0)
    }
  })

  it('now defaults to the current time', () => {
    const future = compileExpression('timestamp(body.at) > now')
    expect(future.test({ body: { at: '2999-01-01T00:00:00Z' } })).toBe(true)
    expect(future.test({ body: { at: '2000-01-01T00:00:00Z' } })).toBe(false)
  })

  it('params and headers are string maps', () => {
    const season = compileExpression('params.season == "2024" && int(params.season) > 2000')
    expect(season.test({ params: { season: '2024' } })).toBe(true)
    expect(() => compileExpression('params.season == 2024')).toThrow(ExpressionError)
  })

  it('lists and ids come back as plain values (CEL ints as numbers)', () => {
    const items = compileExpression('body.matches.filter(m, m.played)', { expect: 'list' })
    const body = {
      matches: [
        { id: 1, played: true },
        { id: 2, played: false },
      ],
    }
    expect(items.list({ body })).toEqual([{ id: 1, played: true }])
    const id = compileExpression('item.id', { variables: ['item'] })
    expect(id.evaluate({ item: { id: 'm1' } })).toBe('m1')
    expect(compileExpression('size(body.matches)').evaluate({ body })).toBe(2)
    expect(compileExpression('[1, 2, 3]').evaluate({})).toEqual([1, 2, 3])
  })

  it('a syntax error is a compile ExpressionError that says where', () => {
    const error = (() => {
      try {
        compileExpression('body.x == ')
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ExpressionError)
    expect(error).toMatchObject({ phase: 'compile', code: 'E_EXPRESSION', source: 'body.x == ' })
    expect((error as Error).message).toMatch(/Unexpected token.*\(at character 11\)/)
  })

  it('unknown variables, wrong result types and empty sources are compile errors', () => {
    expect(() => compileExpression('foo.bar')).toThrow(/Unknown variable: foo/)
    expect(() => compileExpression('item.id')).toThrow(/Unknown variable: item/)
    expect(() => compileExpression('1 + 2', { expect: 'bool' })).toThrow(
      /must produce a bool, but produces int/,
    )
    expect(() => compileExpression('"a"', { expect: 'list' })).toThrow(/must produce a list/)
    expect(() => compileExpression('  ')).toThrow(/empty expression/)
  })

  it('evaluation errors are ExpressionErrors too', () => {
    const missing = compileExpression('body.nope == 1')
    expect(() => missing.evaluate({ body: {} })).toThrow(ExpressionError)
    const notBool = compileExpression('body.x')
    expect(() => notBool.test({ body: { x: 'yes' } })).toThrow(/expected a bool, got string/)
    expect(() => notBool.list({ body: { x: 1 } })).toThrow(/expected a list/)
  })

  it('JSON numbers are CEL doubles: compare with == or write 2.0', () => {
    const gt = compileExpression('body.n > 2.0 && body.n == 3')
    expect(gt.test({ body: { n: 3 } })).toBe(true)
  })

  it('datetime() reads the dates APIs send (FTC: no zone) as UTC; timestamp() refuses them', () => {
    const now = Date.parse('2025-03-01T12:00:00Z')
    const live = compileExpression('datetime(body.dateEnd) + duration("24h") > now', { expect: 'bool' })
    expect(live.test({ body: { dateEnd: '2025-03-01T00:00:00' }, now })).toBe(true)
    expect(live.test({ body: { dateEnd: '2025-02-27T00:00:00' }, now })).toBe(false)
    expect(live.test({ body: { dateEnd: '2025-03-01' }, now })).toBe(true)
    const at = compileExpression('datetime(body.t)')
    expect(at.evaluate({ body: { t: '2025-03-01T10:00:00.5+01:00' } })).toEqual(
      new Date('2025-03-01T09:00:00.500Z'),
    )
    expect(at.evaluate({ body: { t: '2025-03-01T10:00' } })).toEqual(new Date('2025-03-01T10:00:00Z'))
    expect(() => at.evaluate({ body: { t: '2025-02-31' } })).toThrow(/out of range/)
    expect(() => at.evaluate({ body: { t: 'tomorrow' } })).toThrow(/expected an ISO 8601 date/)
    const strict = compileExpression('timestamp(body.dateEnd) + duration("24h") > now')
    expect(() => strict.test({ body: { dateEnd: '2025-03-01T00:00:00' }, now })).toThrow(ExpressionError)
  })
})
