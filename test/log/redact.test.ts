import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { sendError } from '../../src/gateway/response/send.js'
import { isSecretParam, MASK, redactText, redactUrl, Scrubber } from '../../src/util/redact.js'

describe('redaction: one rule set for every URL cistern shows', () => {
  it('names the usual credential parameters secret, and leaves ordinary ones alone', () => {
    const secret = [
      'token',
      'key',
      'api_key',
      'apikey',
      'API-Key',
      'secret',
      'password',
      'passwd',
      'session',
      'sessionId',
      'sig',
      'signature',
      'access_token',
      'refresh_token',
      'client_secret',
      'auth',
      'authorization',
      'auth_token',
      'private_key',
      'X-Amz-Signature',
    ]
    for (const name of secret) expect(isSecretParam(name), name).toBe(true)
    for (const name of ['season', 'teamNumber', 'page', 'q', 'eventCode', 'monkey', 'keyboard', 'limit'])
      expect(isSecretParam(name), name).toBe(false)
    expect(isSecretParam('sport', new Set(['sport']))).toBe(true)
  })

  it('masks secret query and variant parameters with the one mask, keeping the rest byte for byte', () => {
    expect(redactUrl('https://api.example.com/v1/teams?season=2024&API_KEY=s3cr3t&q=a%20b#top')).toBe(
      `https://api.example.com/v1/teams?season=2024&API_KEY=${MASK}&q=a%20b#top`,
    )
    expect(redactUrl('https://user:pw@host.example/x?token=1&a=2&session=3')).toBe(
      `https://host.example/x?token=${MASK}&a=2&session=${MASK}`,
    )
    expect(redactUrl('/v1/x?api%5Fkey=abc&key&b=1')).toBe(`/v1/x?api%5Fkey=${MASK}&key=${MASK}&b=1`)
    expect(redactUrl('/plain/path')).toBe('/plain/path')
    expect(redactUrl('/p?%zz=1&token=x')).toBe(`/p?%zz=1&token=${MASK}`)
    expect(redactUrl('/p?sport=football&a=1', ['SPORT'])).toBe(`/p?sport=${MASK}&a=1`)
    // A cache key: variant parts after # are judged by the same rule (the credentials hash included).
    expect(redactUrl('/me?x=1#accept-language=de#auth=abcdef')).toBe(
      `/me?x=1#accept-language=de#auth=${MASK}`,
    )
  })

  it('masks the same parameters inside free text (log lines, error messages)', () => {
    const text = JSON.stringify({
      msg: 'GET https://h/p?season=1&session=s3ss&sig=zz failed',
      key: '/me#auth=h4sh',
    })
    const out = redactText(text)
    expect(out).not.toMatch(/s3ss|zz failed|h4sh/)
    expect(JSON.parse(out)).toEqual({
      msg: `GET https://h/p?season=1&session=${MASK}&sig=${MASK} failed`,
      key: `/me#auth=${MASK}`,
    })
    expect(new Scrubber([], ['sport']).scrub('/p?sport=x')).toBe(`/p?sport=${MASK}`)
  })
})

describe('redaction: error bodies', () => {
  it('the gateway’s JSON errors mask credentials their messages quote (other modules’ errors)', async () => {
    const message = 'GET https://user:pw@api.example/v1/x?season=1&api_key=k3y-value failed: Bearer abcd.efgh'
    const server = createServer((_req, res) => sendError(res, 502, 'upstream_bad_response', message))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      expect(res.status).toBe(502)
      const text = await res.text()
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text))
      expect(JSON.parse(text)).toEqual({
        error: {
          code: 'upstream_bad_response',
          message: `GET https://api.example/v1/x?season=1&api_key=${MASK} failed: Bearer ${MASK}`,
        },
      })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
