import { readFile } from 'node:fs/promises'
import { loadConfig } from '../config/index.js'
import type { CisternConfig, HttpMethod, RouteConfig, WebhookConfig } from '../config/types.js'
import { listenProblem, storeProblem } from './preflight.js'
import { evaluateSample } from './sample.js'

export interface CheckOptions {
  /** `name=file.json`: evaluate that route's (or webhook's) CEL expressions against the body. */
  samples?: readonly string[]
  /** Also check that the listen addresses are free and the store's directory writable (default true). */
  preflight?: boolean
}

/**
 * `cistern check`: validate the config (errors name file:line:key), print the resolved routes and
 * webhooks, check what `serve` will need from the machine (free ports, a writable store directory)
 * and evaluate expressions against sample bodies. Resolves to the number of problems found.
 */
export async function checkCommand(
  path: string,
  print: (line: string) => void,
  options: CheckOptions = {},
): Promise<{ config: CisternConfig; problems: number }> {
  const config = await loadConfig(path)
  const counts = [
    plural(config.routes.length, 'route'),
    plural(Object.keys(config.upstreams).length, 'upstream'),
    ...(config.webhooks.length > 0 ? [plural(config.webhooks.length, 'webhook')] : []),
  ]
  print(`${config.file}: ok — ${counts.join(', ')}, store ${config.store.kind}`)
  print(describeRoutes(config).join('\n'))
  if (config.webhooks.length > 0) print(['webhooks:', ...describeWebhooks(config.webhooks)].join('\n'))

  const problems: string[] = []
  if (options.preflight ?? true) {
    const found = await Promise.all([
      listenProblem('listen', config.listen),
      listenProblem('admin.listen', config.admin.listen),
      storeProblem(config.store),
    ])
    for (const problem of found) if (problem) problems.push(problem)
  }
  for (const spec of options.samples ?? []) {
    const { lines, errors } = await runSample(config, spec)
    for (const line of lines) print(line)
    problems.push(...errors)
  }
  for (const warning of configWarnings(config)) print(`warning: ${warning}`)
  for (const problem of problems) print(`✗ ${problem}`)
  return { config, problems: problems.length }
}

/**
 * Settings that load but probably do not mean what they say. A public route shares one entry
 * between every client and forwards none of their credentials, so on an upstream without auth of its
 * own it can only serve what the upstream shows anonymous callers.
 */
export function configWarnings(config: CisternConfig): string[] {
  const warnings: string[] = []
  for (const route of config.routes) {
    const upstream = config.upstreams[route.upstream]
    if (route.public && route.cache && upstream && upstream.auth === undefined) {
      warnings.push(
        `route ${route.name} is public but upstream ${upstream.name} has no auth: client credentials are not forwarded on a public route, so it fetches as an anonymous caller`,
      )
    }
  }
  return warnings
}

/** One row per route: methods, path, upstream target and what cistern does with each method. */
export function describeRoutes(config: CisternConfig): string[] {
  const rows = config.routes.map((route) => {
    const upstream = config.upstreams[route.upstream]
    const target = upstream ? `${upstream.url}${route.to.source}` : route.to.source
    return [route.methods.join(','), route.path, '→', target, policyOf(route)]
  })
  return table(rows)
}

/** Only reads are cached; writes always pass through (and invalidate), so they get no TTL. */
function policyOf(route: RouteConfig): string {
  const reads = route.methods.filter(isRead)
  const writes = route.methods.filter((method) => !isRead(method))
  const parts: string[] = []
  if (!route.cache || reads.length === 0) parts.push('pass')
  else {
    parts.push(
      route.ttl === undefined
        ? 'ttl from upstream headers'
        : `ttl ${seconds(route.ttl)} stale ${seconds(route.stale)}`,
    )
    if (route.refresh) parts.push(`refresh every ${seconds(route.refresh.every)}`)
    if (writes.length > 0) parts.push(`${writes.join(',')} pass`)
  }
  if (route.invalidates.length > 0 && writes.length > 0) {
    parts.push(`invalidates ${route.invalidates.map((t) => t.source).join(' ')}`)
  }
  return parts.join('; ')
}

function describeWebhooks(webhooks: readonly WebhookConfig[]): string[] {
  const rows = webhooks.map((hook) => {
    const actions = hook.on.map((action) => {
      const what = [
        ...(action.invalidate.length
          ? [`invalidate ${action.invalidate.map((t) => t.source).join(' ')}`]
          : []),
        ...(action.refresh.length ? [`refresh ${action.refresh.map((t) => t.source).join(' ')}`] : []),
      ].join(', ')
      return action.when ? `when ${action.when.source}: ${what}` : what
    })
    return ['POST', hook.path, `${hook.verify.scheme} (${hook.verify.header})`, actions.join('; ')]
  })
  return table(rows).map((row) => `  ${row}`)
}

/** `--sample name=file.json`: read the body and evaluate the named route's or webhook's expressions. */
async function runSample(
  config: CisternConfig,
  spec: string,
): Promise<{ lines: string[]; errors: string[] }> {
  const at = spec.indexOf('=')
  if (at <= 0)
    return { lines: [], errors: [`--sample ${spec}: expected <route or webhook name>=<file.json>`] }
  const name = spec.slice(0, at)
  const file = spec.slice(at + 1)
  const route = config.routes.find((r) => r.name === name)
  const webhook = config.webhooks.find((w) => w.name === name)
  if (!route && !webhook) {
    const names = [...config.routes.map((r) => r.name), ...config.webhooks.map((w) => w.name)]
    return {
      lines: [],
      errors: [`--sample ${name}: no route or webhook is named so; names are: ${names.join(', ')}`],
    }
  }
  let body: unknown
  try {
    body = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    return {
      lines: [],
      errors: [`--sample ${name}: cannot read ${file} as JSON: ${(error as Error).message}`],
    }
  }
  const results = evaluateSample(route ?? webhook!, body)
  const lines = [`sample ${file} → ${route ? 'route' : 'webhook'} ${name}:`]
  const errors: string[] = []
  if (results.length === 0) lines.push('  (no expressions to evaluate)')
  for (const result of results) {
    if ('error' in result) {
      lines.push(`  ${result.key}: ${result.source}\n    ✗ cannot be evaluated: ${result.error}`)
      errors.push(`${name} ${result.key} cannot be evaluated on ${file}: ${result.error}`)
    } else lines.push(`  ${result.key}: ${result.source}\n    = ${result.value}`)
  }
  return { lines, errors }
}

const isRead = (method: HttpMethod) => method === 'GET' || method === 'HEAD'

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]!.length))) ?? []
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
}

function seconds(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`
  return `${ms / 1000}s`
}
