import { createHmac } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MASK } from '../../src/log/index.js'
import { createWebhooks } from '../../src/webhooks/index.js'
import { config, hook } from './helpers.js'

const SECRET = 'tba-secret-for-the-default-logger'
const cfg = config(`
store: { kind: memory }
log: { level: warn }
webhooks:
  - name: tba
    path: /hooks/tba
    verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: "${SECRET}" }
    on:
      - invalidate: ["event:{body.event}"]
`)

describe('webhooks: the logger they make for themselves', () => {
  afterEach(() => vi.restoreAllMocks())

  it('scrubs secrets like cistern’s own logger (it used to be a bare pino that skipped the scrubber)', async () => {
    const lines: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    // An action fails with an error that quotes the webhook secret and a URL with a token.
    const cache = {
      invalidate: async () => {
        throw new Error(`store refused https://store.example/x?token=t0k3n-value (secret ${SECRET})`)
      },
    }
    const webhooks = createWebhooks(cfg, { cache })
    await webhooks.start()
    try {
      const raw = Buffer.from(JSON.stringify({ event: 'USMIDEM3' }))
      const signature = createHmac('sha256', SECRET).update(raw).digest('hex')
      expect(webhooks.receive(hook(cfg, 'tba'), raw, { 'x-tba-hmac': signature }).status).toBe(200)
      await webhooks.idle()
    } finally {
      webhooks.close()
      vi.restoreAllMocks()
    }
    const text = lines.join('')
    expect(text).toContain('webhook action failed')
    expect(text).toContain(`token=${MASK}`)
    expect(text).not.toMatch(/t0k3n-value|tba-secret-for-the-default-logger/)
  })
})
