import { loadConfig } from '../config/index.js'
import type { CisternConfig } from '../config/types.js'

/** `cistern check`: validate the config and print the resolved routes; errors name file:line:key. */
export async function checkCommand(path: string, print: (line: string) => void): Promise<CisternConfig> {
  const config = await loadConfig(path)
  print(
    `${config.file}: ok — ${config.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams, store ${config.store.kind}`,
  )
  print(describeRoutes(config).join('\n'))
  for (const warning of configWarnings(config)) print(`warning: ${warning}`)
  return config
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

export function describeRoutes(config: CisternConfig): string[] {
  const rows = config.routes.map((route) => {
    const upstream = config.upstreams[route.upstream]
    const target = upstream ? `${upstream.url}${route.to.source}` : route.to.source
    const policy = !route.cache
      ? 'pass'
      : route.ttl === undefined
        ? 'ttl from upstream headers'
        : `ttl ${seconds(route.ttl)} stale ${seconds(route.stale)}`
    return [route.methods.join(','), route.path, '→', target, policy]
  })
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
