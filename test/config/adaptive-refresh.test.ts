import { describe, expect, it } from 'vitest'
import { load, onlyIssue, UPSTREAM } from './helpers.js'

const route = (refresh: string) =>
  `${UPSTREAM}routes:\n  - path: /t/:id\n    ttl: 10m\n    refresh: ${refresh}\n`

describe('refresh: { every: adaptive }', () => {
  it('resolves its bounds to ms, with every at min', () => {
    const config = load(route('{ every: adaptive, min: 5s, max: 1h }'))
    expect(config.routes[0]?.refresh).toMatchObject({
      every: 5_000,
      adaptive: { min: 5_000, max: 3_600_000 },
    })
  })

  it('defaults to 10s and 10m', () => {
    const config = load(route('{ every: adaptive }'))
    expect(config.routes[0]?.refresh?.adaptive).toEqual({ min: 10_000, max: 600_000 })
  })

  it('a min above the default max raises the default max to it', () => {
    expect(load(route('{ every: adaptive, min: 20m }')).routes[0]?.refresh?.adaptive).toEqual({
      min: 1_200_000,
      max: 1_200_000,
    })
  })

  it('a fixed every has no adaptive bounds', () => {
    expect(load(route('{ every: 1m }')).routes[0]?.refresh).not.toHaveProperty('adaptive')
  })

  it('refuses max below min, at max', () => {
    const issue = onlyIssue(route('{ every: adaptive, min: 5m, max: 1m }'))
    expect(issue).toMatchObject({ path: 'routes[0].refresh.max', line: 7 })
    expect(issue.message).toContain('must not be below min (300s)')
  })

  it('refuses a zero min', () => {
    expect(onlyIssue(route('{ every: adaptive, min: 0 }')).path).toBe('routes[0].refresh.min')
  })

  it('refuses min or max without every: adaptive', () => {
    const issue = onlyIssue(route('{ every: 1m, max: 10m }'))
    expect(issue.path).toBe('routes[0].refresh.max')
    expect(issue.message).toContain('applies only to every: adaptive')
  })

  it('names what every accepts when it is neither', () => {
    const issue = onlyIssue(route('{ every: sometimes }'))
    expect(issue.path).toBe('routes[0].refresh.every')
    expect(issue.message).toMatch(/duration|adaptive/)
  })
})
