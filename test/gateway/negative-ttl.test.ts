import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { type Harness, startHarness } from './harness.js'

const yaml = (routeExtra = '', routes = '') => `
listen: \${CISTERN_LISTEN}
store: { kind: sqlite, path: "\${CISTERN_DB}" }
upstreams:
  ftc:
    url: "\${SIM_URL}"
routes:
  - path: /ftc/:season/teams/:team
    upstream: ftc
    to: /:season/teams/:team
    ttl: 1h
    stale: 1d
    tags: ["team:{team}"]
${routeExtra}${routes}`

const xcache = (res: Response) => res.headers.get('x-cache-status')
const MISSING = 99_999

/** Create a team on the upstream directly, as another client of the team's own API would. */
async function createOnUpstream(h: Harness, team: number): Promise<void> {
  const res = await fetch(`${h.sim.apiUrl}/2025/teams/${team}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nameShort: 'Brand new' }),
  })
  expect(res.status).toBe(201)
}

describe('gateway: negative answers on ttl routes (negativeTtl)', () => {
  let h: Harness | undefined
  afterEach(() => h?.close())

  it('keeps a 404 for negativeTtl (default 30s), never stale, so a newly created item shows up', async () => {
    let now = Date.now()
    h = await startHarness({ yaml: yaml(), now: () => now })
    const path = `/ftc/2025/teams/${MISSING}`
    expect((await h.get(path)).status).toBe(404)
    const again = await h.get(path)
    expect([again.status, xcache(again)]).toEqual([404, 'HIT'])
    await createOnUpstream(h, MISSING)
    now += 29_000
    expect(xcache(await h.get(path))).toBe('HIT')
    now += 2_000 // 31s: past negativeTtl, and a negative answer has no stale window
    const found = await h.get(path)
    expect([found.status, xcache(found)]).toEqual([200, 'MISS'])
    expect(await found.json()).toMatchObject({ teamNumber: MISSING, nameShort: 'Brand new' })
  })

  it('negativeTtl: 0 stores no 404 at all', async () => {
    h = await startHarness({ yaml: yaml('    negativeTtl: 0\n') })
    const path = `/ftc/2025/teams/${MISSING}`
    expect(xcache(await h.get(path))).toBe('MISS')
    expect(xcache(await h.get(path))).toBe('MISS')
    await createOnUpstream(h, MISSING)
    expect((await h.get(path)).status).toBe(200)
  })

  it("a write's invalidates may read the upstream's answer ({body.…}) and clear the cached 404", async () => {
    h = await startHarness({
      yaml: yaml(
        '',
        `  - path: /ftc/:season/register/:team
    upstream: ftc
    to: /:season/teams/:team
    methods: [PUT]
    invalidates: ["team:{body.teamNumber}", "never:{body.missing}"]
`,
      ),
    })
    const path = `/ftc/2025/teams/${MISSING}`
    await h.get(path)
    expect(xcache(await h.get(path))).toBe('HIT')
    const write = await fetch(`${h.url}/ftc/2025/register/${MISSING}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nameShort: 'Registered' }),
    })
    expect(write.status).toBe(201)
    const after = await h.get(path)
    expect([after.status, xcache(after)]).toEqual([200, 'MISS'])
  })

  it('defaults negativeTtl to 30s and parses it as a duration', () => {
    const config = parseConfig(yaml(), 'cistern.yaml', {
      CISTERN_LISTEN: '127.0.0.1:0',
      CISTERN_DB: ':memory:',
      SIM_URL: 'http://127.0.0.1:1',
    })
    expect(config.routes[0]!.negativeTtl).toBe(30_000)
    expect(() =>
      parseConfig(yaml('    negativeTtl: 5 minutes\n'), 'cistern.yaml', {
        CISTERN_LISTEN: '127.0.0.1:0',
        CISTERN_DB: ':memory:',
        SIM_URL: 'http://127.0.0.1:1',
      }),
    ).toThrow(/routes\[0\]\.negativeTtl/)
  })
})
