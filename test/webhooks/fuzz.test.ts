import { sign as octokitSign } from '@octokit/webhooks-methods'
import fc from 'fast-check'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cistern, startCistern } from '../../src/app/cistern.js'
import type { WebhookConfig } from '../../src/config/types.js'
import { createWebhooks, type HeaderMap } from '../../src/webhooks/index.js'
import {
  captureLogger,
  config,
  HOOKS_ENV,
  HOOKS_YAML,
  recordingCache,
  recordingRefresher,
  STRIPE_SECRETS,
  SW_SECRETS,
  TBA_SECRET,
} from './helpers.js'

/** Case counts, reported by the test names; direct calls carry the volume, HTTP the realism. */
const DIRECT_UNSIGNED = 10_000
const DIRECT_TAMPERED = 2_000
const OVER_HTTP = 300

const cfg = config(HOOKS_YAML, HOOKS_ENV)
const NOW = Date.now()
const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: n, maxLength: n })
const b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const base64Digest = fc
  .string({ unit: fc.constantFrom(...b64chars), minLength: 43, maxLength: 43 })
  .map((s) => `${s}=`)
const seconds = fc.integer({ min: -400, max: 400 }).map((skew) => String(Math.floor(NOW / 1000) + skew))
/** Header values shaped like each scheme's signatures, plus plain noise. */
const signatureLike = fc.oneof(
  hex(64),
  hex(64).map((h) => `sha256=${h}`),
  base64Digest.map((b) => `v1,${b}`),
  fc
    .array(
      base64Digest.map((b) => `v1,${b}`),
      { maxLength: 20 },
    )
    .map((list) => list.join(' ')),
  fc
    .tuple(seconds, fc.array(hex(64), { maxLength: 5 }))
    .map(([t, v1]) => [`t=${t}`, ...v1.map((s) => `v1=${s}`)].join(',')),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
)
const SIGNATURE_HEADERS = ['x-tba-hmac', 'x-hub-signature-256', 'webhook-signature', 'stripe-signature']
const headersArb: fc.Arbitrary<HeaderMap> = fc
  .record(
    {
      signature: fc.dictionary(fc.constantFrom(...SIGNATURE_HEADERS), signatureLike, { maxKeys: 4 }),
      id: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      timestamp: fc.option(fc.oneof(seconds, fc.string({ maxLength: 20 })), { nil: undefined }),
      other: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.toLowerCase()),
        fc.string(),
        {
          maxKeys: 5,
        },
      ),
    },
    { requiredKeys: ['signature', 'other'] },
  )
  .map(({ signature, id, timestamp, other }) => ({
    ...other,
    ...signature,
    ...(id !== undefined && { 'webhook-id': id }),
    ...(timestamp !== undefined && { 'webhook-timestamp': timestamp }),
  }))
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
  fc.constant(Buffer.from('{"message_type": "match_score", "message_data": {"event_key": "2024casj"}}')),
)
const hookArb = fc.constantFrom(...cfg.webhooks)

function harness() {
  const cache = recordingCache()
  const refresher = recordingRefresher()
  const logger = captureLogger()
  const webhooks = createWebhooks(cfg, { cache, refresher, logger, now: () => NOW })
  void webhooks.start()
  return { cache, refresher, webhooks }
}

/** A correctly signed delivery for `hook`, made by the independent libraries. */
async function signed(hook: WebhookConfig, raw: Buffer, id: string): Promise<HeaderMap> {
  const text = raw.toString('utf8')
  switch (hook.name) {
    case 'tba':
      return { 'x-tba-hmac': (await octokitSign(TBA_SECRET, text)).slice(7) }
    case 'github':
      return { 'x-hub-signature-256': await octokitSign(HOOKS_ENV.GH_NEW, text) }
    case 'sw':
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(NOW / 1000)),
        'webhook-signature': new Webhook(SW_SECRETS[0]!).sign(id, new Date(NOW), text),
      }
    default:
      return {
        'stripe-signature': new Stripe('sk_test_x').webhooks.generateTestHeaderString({
          payload: text,
          secret: STRIPE_SECRETS[1]!,
          timestamp: Math.floor(NOW / 1000),
        }),
      }
  }
}

describe('fuzz: webhooks never accept what is not signed', () => {
  it(`${DIRECT_UNSIGNED} random header sets and bodies, called directly: always 401, nothing stored or done`, async () => {
    const { cache, refresher, webhooks } = harness()
    fc.assert(
      fc.property(hookArb, headersArb, bodyArb, (hook, headers, raw) => {
        const reply = webhooks.receive(hook, raw, headers)
        expect(reply.status).toBe(401)
        expect(reply.body).toHaveProperty('error.code')
      }),
      { numRuns: DIRECT_UNSIGNED },
    )
    await webhooks.idle()
    expect(cache.calls).toEqual([])
    expect(refresher.calls).toEqual([])
    expect((await webhooks.events.list({ limit: 500 })).events.every((e) => !e.verified)).toBe(true)
    webhooks.close()
  })

  it(`${DIRECT_TAMPERED} signed deliveries: accepted as sent, refused after any one-byte change`, async () => {
    const { webhooks } = harness()
    // The signers take strings and sign their UTF-8 bytes, so the wire carries exactly those bytes.
    const utf8Body = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 300 })
      .map((s) => Buffer.from(s, 'utf8'))
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        hookArb,
        utf8Body,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (hook, raw, at, xor) => {
          const headers = await signed(hook, raw, `msg_${++n}`)
          if (raw.byteLength > 0) {
            const tampered = Buffer.from(raw)
            const i = at % raw.byteLength
            tampered[i] = tampered[i]! ^ xor
            expect(webhooks.receive(hook, tampered, headers).status).toBe(401)
          }
          const extended = Buffer.concat([raw, Buffer.from(' ')])
          expect(webhooks.receive(hook, extended, headers).status).toBe(401)
          // The untouched delivery verifies (then it is 200, or 400 when the bytes are not JSON).
          expect([200, 400]).toContain(webhooks.receive(hook, raw, headers).status)
        },
      ),
      { numRuns: DIRECT_TAMPERED },
    )
    await webhooks.idle()
    webhooks.close()
  })
})

describe('fuzz over real HTTP', () => {
  let cistern: Cistern
  beforeAll(async () => {
    const http = config(`listen: 127.0.0.1:0\nadmin: { listen: "127.0.0.1:0" }\n${HOOKS_YAML}`, HOOKS_ENV)
    cistern = await startCistern(http, { logger: pino({ level: 'silent' }) })
  })
  afterAll(() => cistern?.close(1000))

  it(`${OVER_HTTP} random requests to webhook paths: never 2xx, never a crash`, async () => {
    const token = fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-0123456789'),
      minLength: 1,
      maxLength: 16,
    })
    const printable = fc.string({
      unit: fc.constantFrom(...' !#$%&()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~'),
      maxLength: 80,
    })
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/hooks/tba', '/hooks/github', '/hooks/sw/2025', '/hooks/stripe'),
        fc.constantFrom('POST', 'POST', 'POST', 'PUT', 'GET', 'DELETE'),
        fc.dictionary(
          fc.oneof(fc.constantFrom(...SIGNATURE_HEADERS, 'webhook-id', 'webhook-timestamp'), token),
          printable,
          {
            maxKeys: 6,
          },
        ),
        bodyArb,
        async (path, method, headers, raw) => {
          const init: RequestInit = { method, headers }
          if (method !== 'GET') init.body = new Uint8Array(raw)
          const res = await fetch(cistern.url + path, init)
          const body = (await res.json()) as { error?: { code: string } }
          expect(res.status === 401 || res.status === 405).toBe(true)
          expect(body.error?.code).toBeTruthy()
        },
      ),
      { numRuns: OVER_HTTP },
    )
    expect((await cistern.webhooks.events.list({ limit: 500 })).events.every((e) => !e.verified)).toBe(true)
    expect((await fetch(`${cistern.url}/elsewhere`)).status).toBe(404)
  })
})
