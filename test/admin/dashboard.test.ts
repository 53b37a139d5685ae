import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/refresh/types.js'
import { type AdminHarness, json, startAdminHarness } from './helpers.js'

// Debian's Chromium only: a downloaded browser is never used (nor reachable from CI).
const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const available = existsSync(CHROMIUM)
const required = process.env.CISTERN_REQUIRE_SERVICES === '1'
if (!available && !required) {
  console.warn(
    `\n!!! ${CHROMIUM} is missing: the dashboard browser test is SKIPPED (apt-get install -y chromium) !!!\n`,
  )
}

/** The browser globals the page functions use (the test compiles without the DOM library). */
type PageGlobals = {
  document: { querySelector(selector: string): { textContent: string | null } | null }
  sessionStorage: { getItem(key: string): string | null }
}

interface Stats {
  totals: { requests: number; hitRate: number | null; upstreamCalls: number; callsSaved: number }
  store: { entries: number }
}

describe.runIf(!available && required)('dashboard in Chromium', () => {
  it('needs /usr/bin/chromium (CISTERN_REQUIRE_SERVICES=1)', () => {
    throw new Error(`${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium)`)
  })
})

describe.runIf(available)('dashboard in Chromium', () => {
  let h: AdminHarness
  let profile: string
  let context: BrowserContext
  const problems: string[] = []

  beforeAll(async () => {
    h = await startAdminHarness()
    for (const team of h.sim.teamNumbers(2025).slice(0, 3)) {
      for (let i = 0; i < 3; i++) await h.get(`/ftc/2025/teams/${team}`)
      await h.get(`/ftc/2024/teams/${team}`)
    }
    await h.get('/ftc/2025/events')
    profile = await mkdtemp(join(tmpdir(), 'cistern-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 1100 },
      timeout: 20_000,
    })
  }, 30_000)
  afterAll(async () => {
    await context?.close()
    await h?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  const open = async (path: string): Promise<Page> => {
    const page = await context.newPage()
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    await page.goto(`${h.admin}${path}`)
    return page
  }
  const text = (page: Page, stat: string) => page.locator(`[data-stat="${stat}"]`).textContent()
  /** Waits (bounded) until the page shows the numbers /stats gives now. */
  const showsStats = async (page: Page) => {
    const stats = await json<Stats>(await h.api('/stats'))
    const expected = {
      requests: String(stats.totals.requests),
      hitRate: stats.totals.hitRate === null ? '–' : `${(stats.totals.hitRate * 100).toFixed(1)}%`,
      upstreamCalls: String(stats.totals.upstreamCalls),
      callsSaved: String(stats.totals.callsSaved),
      entries: String(stats.store.entries),
    }
    await page.waitForFunction(
      (want) => {
        const doc = (globalThis as unknown as PageGlobals).document
        return Object.entries(want).every(
          ([name, value]) => doc.querySelector(`[data-stat="${name}"]`)?.textContent === value,
        )
      },
      expected,
      { timeout: 8_000 },
    )
    return { stats, expected }
  }

  it('loads with ?token=, forgets it from the address bar, and shows the numbers of /stats', async () => {
    const page = await open(`/?token=${encodeURIComponent(h.token)}`)
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 8_000 })
    expect(page.url()).toBe(`${h.admin}/`)
    const { stats, expected } = await showsStats(page)
    expect(stats.totals.requests).toBe(13)
    expect(await text(page, 'requests')).toBe(expected.requests)
    expect(await text(page, 'hitRate')).toBe('46.2%')
    expect(await page.locator('[data-route="/ftc/:season/teams/:team"] td').nth(1).textContent()).toBe('12')
    expect(await page.locator('[data-upstream-state="ftc"]').textContent()).toBe('ftc UP')
    expect(await page.locator('#calls tr').count()).toBeGreaterThan(1)
    expect(await page.locator('.budget meter').count()).toBeGreaterThan(0)
    await page.locator('.uplot').first().waitFor({ timeout: 5_000 })

    // A change event arrives on the feed and is listed.
    // The admin stream is the feed's second subscriber (the first counts events for the metrics).
    const feed = h.cistern.refresh.feed
    for (let i = 0; i < 100 && feed.subscribers < 2; i++) await new Promise((r) => setTimeout(r, 20))
    feed.publish({
      id: '7',
      route: '/ftc/:season/matches/:event',
      key: '/ftc/2025/matches/X',
      at: Date.now(),
      changed: [3],
    } as Partial<ChangeEvent> as ChangeEvent)
    await page
      .locator('#changes li', { hasText: '/ftc/2025/matches/X 1 changed' })
      .waitFor({ timeout: 5_000 })

    // New traffic shows up on the next poll.
    await h.get('/ftc/2025/events')
    await showsStats(page)

    if (process.env.CISTERN_DASHBOARD_SCREENSHOT) {
      await page.screenshot({ path: process.env.CISTERN_DASHBOARD_SCREENSHOT, fullPage: true })
    }
    await page.close()
  })

  it('purges by tag from the purge box: exactly the tagged entries go', async () => {
    const page = await open(`/?token=${encodeURIComponent(h.token)}`)
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 8_000 })
    const before = (await json<{ items: { key: string }[] }>(await h.api('/entries?limit=1000'))).items.map(
      (i) => i.key,
    )
    await page.selectOption('#purge-kind', 'tag')
    await page.fill('#purge-value', 'season:2024')
    await page.click('#purge-form button[type="submit"]')
    await page.locator('#purge-result', { hasText: 'purged 3 entries' }).waitFor({ timeout: 5_000 })
    const after = (await json<{ items: { key: string }[] }>(await h.api('/entries?limit=1000'))).items.map(
      (i) => i.key,
    )
    expect(after).toEqual(before.filter((key) => !key.startsWith('/ftc/2024/')))
    const { expected } = await showsStats(page)
    expect(expected.entries).toBe(String(after.length))
    await page.close()
  })

  it('asks for the token without one, and refuses a wrong one', async () => {
    const page = await open('/')
    await page.locator('#login-form').waitFor({ timeout: 5_000 })
    expect(await page.locator('#app').isHidden()).toBe(true)
    await page.fill('#login-token', 'wrong')
    await page.click('#login-form button')
    await page.locator('#login-error', { hasText: 'refused' }).waitFor({ timeout: 5_000 })
    await page.fill('#login-token', h.token)
    await page.click('#login-form button')
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 8_000 })
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem('cistern-admin-token'),
      ),
    ).toBe(h.token)
    await page.close()
  })

  it('ran without script errors or blocked resources (CSP)', () => {
    // The 401 of the login page itself is expected; nothing else may fail.
    expect(problems.filter((p) => !/401/.test(p))).toEqual([])
  })
})
