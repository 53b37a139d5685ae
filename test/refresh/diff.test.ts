import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { applyJsonPatch } from '../../src/refresh/apply-patch.js'
import { detectChange, invalidationTags } from '../../src/refresh/change.js'
import { diffItems, jsonEqual, jsonPatch } from '../../src/refresh/diff.js'
import type { Seen } from '../../src/refresh/schedule-store.js'

const config = parseConfig(
  `
upstreams:
  ftc: { url: "https://ftc.example/v2.0" }
routes:
  - name: matches
    path: /ftc/:season/matches/:event
    changes:
      items: body.matches
      id: item.matchNumber
      invalidates: ["event:{event}", "match:{event}:{item.matchNumber}"]
`,
  'cistern.yaml',
  {},
)
const route = config.routes[0]!

const match = fc.record({
  red: fc.nat(200),
  blue: fc.nat(200),
  status: fc.constantFrom('scheduled', 'playing', 'final'),
  teams: fc.array(fc.nat(30_000), { maxLength: 4 }),
})

/** A list of matches with unique numbers, and an edit of it: some removed, some changed, some added. */
const scenario = fc
  .uniqueArray(fc.nat(60), { maxLength: 30 })
  .chain((ids) =>
    fc.record({
      before: fc.tuple(...ids.map((id) => match.map((m) => ({ matchNumber: id, ...m })))),
      fate: fc.array(fc.constantFrom('keep', 'remove', 'change'), {
        minLength: ids.length,
        maxLength: ids.length,
      }),
      added: fc.uniqueArray(fc.integer({ min: 100, max: 200 }), { maxLength: 5 }),
      extra: match,
    }),
  )
  .map(({ before, fate, added, extra }) => {
    const after = before.flatMap((m, i) =>
      fate[i] === 'remove' ? [] : fate[i] === 'change' ? [{ ...m, red: m.red + 1 }] : [m],
    )
    for (const id of added) after.push({ matchNumber: id, ...extra })
    return {
      before,
      after,
      removed: before.filter((_, i) => fate[i] === 'remove').map((m) => m.matchNumber),
      changed: before.filter((_, i) => fate[i] === 'change').map((m) => m.matchNumber),
      added,
    }
  })

const seen = (body: unknown, at: number, digest: string): Seen => ({
  digest,
  fetchedAt: at,
  body: Buffer.from(JSON.stringify(body)),
  headers: {},
})

describe('refresh: change detection', () => {
  it('item diff: exactly the changed ids, correct added and removed, and a patch from the old body to the new', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const diff = diffItems(s.before, s.after, (m) => (m as { matchNumber: number }).matchNumber)
        expect(diff.changed).toEqual(s.changed)
        expect(diff.removed).toEqual(s.removed)
        expect(diff.added).toEqual(s.added)
        const change = detectChange({
          route,
          params: { season: '2025', event: 'X' },
          key: '/ftc/2025/matches/X',
          url: 'http://gw/ftc/2025/matches/X',
          previous: seen({ matches: s.before }, 1, 'a'),
          next: seen({ matches: s.after }, 2, 'b'),
          tags: [],
          now: 3,
        })
        expect(change.event).toMatchObject({ changed: s.changed, removed: s.removed, added: s.added })
        expect(applyJsonPatch({ matches: s.before }, change.event.patch!)).toEqual({ matches: s.after })
      }),
      { numRuns: 300 },
    )
  })

  it('a change to one match yields exactly that id in changed, nothing added or removed', () => {
    const before = { matches: [1, 2, 3].map((n) => ({ matchNumber: n, red: 0, blue: 0 })) }
    const after = structuredClone(before)
    after.matches[1]!.red = 7
    const change = detectChange({
      route,
      params: { season: '2025', event: 'X' },
      key: '/ftc/2025/matches/X',
      url: 'http://gw/ftc/2025/matches/X',
      previous: seen(before, 1000, 'a'),
      next: seen(after, 2000, 'b'),
      tags: ['event:X'],
      now: 2000,
    })
    expect(change.event).toMatchObject({
      route: 'matches',
      changed: [2],
      added: [],
      removed: [],
      previousDigest: 'a',
      digest: 'b',
      previousFetchedAt: 1000,
      at: 2000,
      patch: [{ op: 'replace', path: '/matches/1/red', value: 7 }],
    })
    expect(change.event.id).toMatch(/^evt_[0-9a-z]{9}[0-9a-f]{20}$/)
    expect(invalidationTags(route, { season: '2025', event: 'X' }, change).sort()).toEqual([
      'event:X',
      'match:X:2',
    ])
  })

  it('the patch turns any JSON document into any other', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(applyJsonPatch(a, jsonPatch(a, b)), b)).toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  it('bodies that are not JSON, or items that cannot be listed, still give a whole-body change', () => {
    const base = { route, params: { event: 'X' }, key: '/k', url: 'http://gw/k', tags: [], now: 5 }
    const text = detectChange({
      ...base,
      previous: { digest: 'a', fetchedAt: 1, body: Buffer.from('<html>'), headers: {} },
      next: { digest: 'b', fetchedAt: 2, body: Buffer.from('<html>!'), headers: {} },
    })
    expect(text.event).toMatchObject({ added: [], removed: [], changed: [], patch: null })
    const noList = detectChange({
      ...base,
      previous: seen({ other: 1 }, 1, 'a'),
      next: seen({ other: 2 }, 2, 'b'),
    })
    expect(noList.event.patch).toEqual([{ op: 'replace', path: '/other', value: 2 }])
    expect(noList.items).toBeUndefined()
  })

  it('ids keep their type (1 and "1" differ), items without an id are ignored, a repeated id keeps its first item', () => {
    const idOf = (item: unknown) => (item as { id?: string | number }).id
    expect(diffItems([{ id: 1 }], [{ id: '1' }], idOf)).toEqual({ added: ['1'], removed: [1], changed: [] })
    expect(diffItems([{ x: 1 }], [{ x: 2 }], idOf)).toEqual({ added: [], removed: [], changed: [] })
    expect(
      diffItems(
        [{ id: 1, v: 1 }],
        [
          { id: 1, v: 1 },
          { id: 1, v: 2 },
        ],
        idOf,
      ).changed,
    ).toEqual([])
  })
})
