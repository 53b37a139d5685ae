import { parseConfig } from '../../src/config/index.js'
import type { CisternConfig, WebhookConfig } from '../../src/config/types.js'
import type { Selector } from '../../src/stores/store.js'
import type { RefreshRequester, WebhookLogger } from '../../src/webhooks/index.js'

/** Parse a YAML config for tests (paths resolve under /tmp, nothing is opened). */
export function config(yaml: string, env: Record<string, string> = {}): CisternConfig {
  return parseConfig(yaml, '/tmp/cistern-webhooks-test/cistern.yaml', env)
}

/** The webhook named `name` of a config. */
export function hook(cfg: CisternConfig, name: string): WebhookConfig {
  const found = cfg.webhooks.find((h) => h.name === name)
  if (!found) throw new Error(`no webhook ${name}`)
  return found
}

export const TBA_SECRET = 'tba-secret-💙'
export const GITHUB_SECRETS = ['github-old', 'github-new']
/** A Standard Webhooks secret as senders show it: whsec_ + base64. */
export const SW_SECRETS = [
  `whsec_${Buffer.from('standard-webhooks-key-1').toString('base64')}`,
  `whsec_${Buffer.from('key-2').toString('base64')}`,
]
export const STRIPE_SECRETS = ['whsec_stripe_old', 'whsec_stripe_new']

/** One webhook of each kind, on a memory store. */
export const HOOKS_YAML = `
store: { kind: memory }
log: { level: silent }
webhooks:
  - name: tba
    path: /hooks/tba
    verify: { scheme: hmac-sha256, header: X-TBA-HMAC, secret: "\${TBA_SECRET}" }
    on:
      - when: body.message_type == "match_score"
        invalidate: ["event:{body.message_data.event_key}"]
  - name: github
    path: /hooks/github
    verify:
      scheme: hmac-sha256
      header: X-Hub-Signature-256
      prefix: "sha256="
      secret: ["\${GH_OLD}", "\${GH_NEW}"]
    on:
      - invalidate: ["repo:{body.repository.full_name}"]
  - name: sw
    path: /hooks/sw/:tenant
    verify: { scheme: standard-webhooks, secret: ["\${SW_1}", "\${SW_2}"] }
    on:
      - when: body.type == "team.updated"
        invalidate: ["team:{body.data.team}"]
        refresh: ["/ftc/{params.tenant}/teams/{body.data.team}", "tenant:{tenant}"]
  - name: stripe
    path: /hooks/stripe
    verify: { scheme: stripe, secret: ["\${STRIPE_OLD}", "\${STRIPE_NEW}"] }
    on:
      - when: body.type == "customer.updated"
        invalidate: ["customer:{body.data.object.id}"]
        soft: true
`

export const HOOKS_ENV = {
  TBA_SECRET,
  GH_OLD: GITHUB_SECRETS[0]!,
  GH_NEW: GITHUB_SECRETS[1]!,
  SW_1: SW_SECRETS[0]!,
  SW_2: SW_SECRETS[1]!,
  STRIPE_OLD: STRIPE_SECRETS[0]!,
  STRIPE_NEW: STRIPE_SECRETS[1]!,
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  obj: object
  msg: string
}

/** A logger that keeps its lines. */
export function captureLogger(): WebhookLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: LogLine['level']) => (obj: object, msg: string) => lines.push({ level, obj, msg })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** A cache stand-in that records invalidations. */
export function recordingCache() {
  const calls: { selector: Selector; soft: boolean }[] = []
  return {
    calls,
    async invalidate(selector: Selector, options: { soft?: boolean } = {}) {
      calls.push({ selector, soft: options.soft ?? false })
      return 1
    },
  }
}

/** A refresher stand-in that records requests. */
export function recordingRefresher(): RefreshRequester & { calls: unknown[] } {
  const calls: unknown[] = []
  return {
    calls,
    async refresh(selector, lane) {
      calls.push({ selector, lane })
      return 1
    },
  }
}
