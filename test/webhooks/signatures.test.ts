import { sign as octokitSign } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import { describe, expect, it } from 'vitest'
import { createVerifier, type HeaderMap } from '../../src/webhooks/index.js'
import {
  config,
  GITHUB_SECRETS,
  HOOKS_ENV,
  HOOKS_YAML,
  hook,
  STRIPE_SECRETS,
  SW_SECRETS,
  TBA_SECRET,
} from './helpers.js'

/**
 * Every signature here is made by an independent library (the sender's side), never by cistern's
 * own code: @octokit/webhooks-methods for GitHub and TBA, the standardwebhooks package, and
 * Stripe's own test-header generator.
 */
const cfg = config(HOOKS_YAML, HOOKS_ENV)
const verify = (name: string) => createVerifier(hook(cfg, name).verify)
const stripe = new Stripe('sk_test_not_used')
const NOW = Date.now()
const seconds = (ms: number) => Math.floor(ms / 1000)

// TBA posts Python's json.dumps(..., ensure_ascii=True): ", " and ": " separators, escaped non-ASCII.
// Re-serializing it with JSON.stringify would change the bytes and break the signature.
const TBA_BODY =
  '{"message_type": "match_score", "message_data": {"event_key": "2024casj", "event_name": "Silicon Valley Regional \\u00e9", "match": {"key": "2024casj_qm1"}}}'
const body = Buffer.from(TBA_BODY)

function flipOneByte(buffer: Buffer, at = 20): Buffer {
  const copy = Buffer.from(buffer)
  copy[at] = copy[at]! ^ 0x01
  return copy
}

describe('hmac-sha256 (TBA: X-TBA-HMAC, bare hex)', () => {
  const tba = verify('tba')
  const headerFor = async (secret: string, payload: string) =>
    (await octokitSign(secret, payload)).replace(/^sha256=/, '')

  it('accepts the HMAC of the raw body that an independent library computes', async () => {
    const headers = { 'x-tba-hmac': await headerFor(TBA_SECRET, TBA_BODY) }
    expect(tba(body, headers, NOW)).toMatchObject({ ok: true })
    // Upper-case hex is the same digest.
    expect(tba(body, { 'x-tba-hmac': headers['x-tba-hmac'].toUpperCase() }, NOW)).toMatchObject({ ok: true })
  })

  it('refuses a one-byte change, a wrong secret, a missing or malformed header', async () => {
    const good = { 'x-tba-hmac': await headerFor(TBA_SECRET, TBA_BODY) }
    expect(tba(flipOneByte(body), good, NOW)).toMatchObject({ ok: false, outcome: 'unauthorized' })
    expect(tba(Buffer.from(JSON.stringify(JSON.parse(TBA_BODY))), good, NOW).ok).toBe(false)
    const wrong = { 'x-tba-hmac': await headerFor('not-the-secret', TBA_BODY) }
    expect(tba(body, wrong, NOW).ok).toBe(false)
    expect(tba(body, {}, NOW)).toMatchObject({ ok: false, reason: 'missing x-tba-hmac header' })
    expect(tba(body, { 'x-tba-hmac': `sha256=${good['x-tba-hmac']}` }, NOW).ok).toBe(false)
    expect(tba(body, { 'x-tba-hmac': good['x-tba-hmac'].slice(0, 63) }, NOW).ok).toBe(false)
  })
})

describe('hmac-sha256 (GitHub: X-Hub-Signature-256: sha256=<hex>, two secrets)', () => {
  const github = verify('github')
  const payload = '{"action":"opened","repository":{"full_name":"octo/hello"}}'

  it('accepts signatures made with either secret (rotation)', async () => {
    for (const secret of GITHUB_SECRETS) {
      const headers = { 'x-hub-signature-256': await octokitSign(secret, payload) }
      expect(github(Buffer.from(payload), headers, NOW)).toMatchObject({ ok: true })
    }
  })

  it('refuses a wrong secret, a missing prefix and a one-byte change', async () => {
    const good = await octokitSign(GITHUB_SECRETS[0]!, payload)
    expect(
      github(Buffer.from(payload), { 'x-hub-signature-256': await octokitSign('x', payload) }, NOW).ok,
    ).toBe(false)
    expect(github(Buffer.from(payload), { 'x-hub-signature-256': good.slice(7) }, NOW).ok).toBe(false)
    expect(github(flipOneByte(Buffer.from(payload)), { 'x-hub-signature-256': good }, NOW).ok).toBe(false)
  })

  it('reads base64 digests when configured so', async () => {
    const b64 = config(
      `store: { kind: memory }
webhooks:
  - path: /h
    verify: { scheme: hmac-sha256, header: X-Sig, encoding: base64, secret: s3cret }
    on: [{ invalidate: ["x"] }]`,
    )
    const verifyB64 = createVerifier(b64.webhooks[0]!.verify)
    const hex = (await octokitSign('s3cret', payload)).slice(7)
    const base64 = Buffer.from(hex, 'hex').toString('base64')
    expect(verifyB64(Buffer.from(payload), { 'x-sig': base64 }, NOW)).toMatchObject({ ok: true })
    expect(verifyB64(Buffer.from(payload), { 'x-sig': hex }, NOW).ok).toBe(false)
  })
})

describe('standard-webhooks (the standardwebhooks package signs)', () => {
  const sw = verify('sw')
  const payload = '{"type":"team.updated","data":{"team":"7244"}}'
  function headers(secret: string, id: string, at: number, text = payload): HeaderMap {
    const signature = new Webhook(secret).sign(id, new Date(at), text)
    return { 'webhook-id': id, 'webhook-timestamp': String(seconds(at)), 'webhook-signature': signature }
  }

  it('accepts either secret, and a signature anywhere in a space-separated list', () => {
    expect(sw(Buffer.from(payload), headers(SW_SECRETS[0]!, 'msg_1', NOW), NOW)).toMatchObject({
      ok: true,
      id: 'msg_1',
    })
    const rotated = headers(SW_SECRETS[1]!, 'msg_2', NOW)
    const list = `v1,${Buffer.alloc(32).toString('base64')} v1a,abc ${rotated['webhook-signature']}`
    expect(sw(Buffer.from(payload), { ...rotated, 'webhook-signature': list }, NOW)).toMatchObject({
      ok: true,
    })
  })

  it('refuses a one-byte change, a wrong secret, a changed id, and missing headers', () => {
    const good = headers(SW_SECRETS[0]!, 'msg_1', NOW)
    expect(sw(flipOneByte(Buffer.from(payload)), good, NOW).ok).toBe(false)
    const wrongSecret = headers(`whsec_${Buffer.from('other').toString('base64')}`, 'msg_1', NOW)
    expect(sw(Buffer.from(payload), wrongSecret, NOW).ok).toBe(false)
    expect(sw(Buffer.from(payload), { ...good, 'webhook-id': 'msg_2' }, NOW).ok).toBe(false)
    const { 'webhook-id': _omitted, ...noId } = good
    expect(sw(Buffer.from(payload), noId, NOW).ok).toBe(false)
  })

  it('refuses timestamps outside the 5 minute tolerance, either way, as expired', () => {
    for (const skew of [-301_000, 301_000]) {
      const at = NOW + skew
      expect(sw(Buffer.from(payload), headers(SW_SECRETS[0]!, 'msg_t', at), NOW)).toMatchObject({
        ok: false,
        outcome: 'expired',
      })
    }
    expect(sw(Buffer.from(payload), headers(SW_SECRETS[0]!, 'msg_t', NOW - 290_000), NOW).ok).toBe(true)
  })

  it('compares exact bytes: a body that only decodes to the signed string is refused', () => {
    // The sender signed "{\uFFFD}" (UTF-8: 7b ef bf bd 7d). 7b ff 7d decodes to the same string, so
    // the package's own verify() (which decodes the Buffer first) accepts it; cistern must not.
    const signed = '{\uFFFD}'
    const good = headers(SW_SECRETS[0]!, 'msg_b', NOW, signed)
    const lookalike = Buffer.from([0x7b, 0xff, 0x7d])
    expect(sw(Buffer.from(signed), good, NOW).ok).toBe(true)
    expect(sw(lookalike, good, NOW).ok).toBe(false)
    expect(() => new Webhook(SW_SECRETS[0]!).verify(lookalike, good, { jsonParse: false })).not.toThrow()
  })
})

describe('stripe (Stripe-Signature from stripe.webhooks.generateTestHeaderString)', () => {
  const verifyStripe = verify('stripe')
  const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.updated' })
  const header = (secret: string, at: number, text = payload) =>
    stripe.webhooks.generateTestHeaderString({ payload: text, secret, timestamp: seconds(at) })

  it('accepts either secret, and several v1 signatures in one header', () => {
    for (const secret of STRIPE_SECRETS) {
      expect(
        verifyStripe(Buffer.from(payload), { 'stripe-signature': header(secret, NOW) }, NOW),
      ).toMatchObject({
        ok: true,
      })
    }
    const t = seconds(NOW)
    const v1 = header(STRIPE_SECRETS[1]!, NOW).split('v1=')[1]
    const several = `t=${t},v1=${'0'.repeat(64)},v0=abc,v1=${v1}`
    expect(verifyStripe(Buffer.from(payload), { 'stripe-signature': several }, NOW).ok).toBe(true)
  })

  it('refuses a one-byte change, a wrong secret and a changed timestamp', () => {
    const good = header(STRIPE_SECRETS[0]!, NOW)
    expect(verifyStripe(flipOneByte(Buffer.from(payload)), { 'stripe-signature': good }, NOW).ok).toBe(false)
    expect(
      verifyStripe(Buffer.from(payload), { 'stripe-signature': header('whsec_other', NOW) }, NOW).ok,
    ).toBe(false)
    const shifted = good.replace(/t=(\d+)/, (_m, t: string) => `t=${Number(t) - 1}`)
    expect(verifyStripe(Buffer.from(payload), { 'stripe-signature': shifted }, NOW).ok).toBe(false)
  })

  it('refuses timestamps outside the 300 s tolerance as expired', () => {
    const old = header(STRIPE_SECRETS[0]!, NOW - 301_000)
    expect(verifyStripe(Buffer.from(payload), { 'stripe-signature': old }, NOW)).toMatchObject({
      ok: false,
      outcome: 'expired',
    })
    const recent = header(STRIPE_SECRETS[0]!, NOW - 299_000)
    expect(verifyStripe(Buffer.from(payload), { 'stripe-signature': recent }, NOW).ok).toBe(true)
  })
})

describe('setup errors', () => {
  it('a standard-webhooks secret that is not base64 is refused when the verifier is built', () => {
    const bad = { ...hook(cfg, 'sw').verify, secrets: ['whsec_not base64!'] }
    expect(() => createVerifier(bad)).toThrow(/whsec_ followed by base64/)
  })
})
