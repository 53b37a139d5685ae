import { loadConfig } from '../config/index.js'
import type { CisternConfig } from '../config/types.js'

/** `cistern check`: validate the config and print the resolved routes; errors name file:line:key. */
export async function checkCommand(path: string, print: (line: string) => void): Promise<CisternConfig> {
  const config = await loadConfig(path)
  print(
    `${config.file}: ok — ${config.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams, store ${config.store.kind}`,
  )
  print(describeRoutes(config).join('\n'))
  return config
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
