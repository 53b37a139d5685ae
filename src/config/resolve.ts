import { resolve as resolvePath } from 'node:path'
import { checkAll, checkRefs, Findings } from './refs.js'
import { resolveRoute } from './resolve-route.js'
import { isLoopback } from './schema/net.js'
import type { ParsedConfig } from './schema/root.js'
import { didYouMean } from './suggest.js'
import type {
  CisternConfig,
  ListenAddress,
  NotifyConfig,
  RouteConfig,
  StoreConfig,
  UpstreamConfig,
  WebhookConfig,
} from './types.js'

export const DEFAULT_SQLITE_PATH = './.cistern/cache.db'
/** Fields of a change event a chat template may use. */
const EVENT_FIELDS = ['id', 'route', 'key', 'url', 'at', 'previousFetchedAt', 'digest', 'previousDigest']
const EVENT_LISTS = ['added', 'removed', 'changed', 'patch']
const WILDCARD = new Set(['0.0.0.0', '::'])
const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev']

const MB = 1024 * 1024
/** Below this a store holds little beyond its own schema: eviction would empty it on every write. */
const MIN_STORE_SIZE = 1000 ** 2
const DEFAULT_STORE_SIZE = 1000 ** 3

function resolveStore(input: ParsedConfig['store'], baseDir: string, findings: Findings): StoreConfig {
  const { kind, memory, timeout } = input
  // The memory store's bound was the memory tier's (at least 64MB) before maxSize existed; it still is by default.
  const maxSize = input.maxSize ?? (kind === 'memory' ? Math.max(memory, 64 * MB) : DEFAULT_STORE_SIZE)
  if (maxSize < MIN_STORE_SIZE) findings.add(['store', 'maxSize'], 'value', 'must be at least 1MB')
  const misplaced = (key: 'path' | 'url' | 'namespace', users: string) => {
    if (input[key] !== undefined) findings.add(['store', key], 'value', `is only used with kind: ${users}`)
  }
  if (kind === 'memory') {
    misplaced('path', 'sqlite')
    misplaced('url', 'redis or postgres')
    misplaced('namespace', 'redis or postgres')
    return { kind, memory, timeout, maxSize }
  }
  if (kind === 'sqlite') {
    misplaced('url', 'redis or postgres')
    misplaced('namespace', 'redis or postgres')
    const path = input.path ?? DEFAULT_SQLITE_PATH
    const resolved = path === ':memory:' ? path : resolvePath(baseDir, path)
    const pseudo = PSEUDO_FILESYSTEMS.find((root) => resolved === root || resolved.startsWith(`${root}/`))
    if (pseudo) {
      // Not only unusable: Node's recursive mkdir spins at full CPU under /proc instead of failing.
      findings.add(
        ['store', 'path'],
        'value',
        `${resolved} is under ${pseudo}, a kernel pseudo-filesystem where no database can live; choose a path on disk (e.g. ${DEFAULT_SQLITE_PATH})`,
      )
    }
    return { kind, memory, timeout, maxSize, path: resolved }
  }
  misplaced('path', 'sqlite')
  const schemes =
    kind === 'redis'
      ? ['redis:', 'rediss:', 'redis-sentinel:', 'redis-cluster:']
      : ['postgres:', 'postgresql:']
  if (input.url === undefined) {
    findings.add(['store', 'url'], 'type', `is required for kind: ${kind} (e.g. ${schemes[0]}//localhost)`)
  } else if (!schemes.some((scheme) => input.url!.startsWith(`${scheme}//`))) {
    findings.add(['store', 'url'], 'value', `must start with ${schemes.map((s) => `${s}//`).join(' or ')}`)
  }
  return { kind, memory, timeout, maxSize, url: input.url ?? '', namespace: input.namespace ?? 'cistern' }
}

function clash(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false
  return a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host)
}

/** Names for routes and webhooks: the given one, else the path (made unique with #2, #3 ...). */
function nameAll<T extends { name?: string | undefined; path: { source: string } }>(
  items: readonly T[],
  section: string,
  findings: Findings,
): string[] {
  const taken = new Map<string, number>()
  items.forEach((item, i) => {
    if (item.name === undefined) return
    const first = taken.get(item.name)
    if (first !== undefined) {
      findings.add([section, i, 'name'], 'value', `duplicate name "${item.name}" (also ${section}[${first}])`)
    } else taken.set(item.name, i)
  })
  return items.map((item, i) => {
    if (item.name !== undefined) return item.name
    let name = item.path.source
    for (let n = 2; taken.has(name); n++) name = `${item.path.source}#${n}`
    taken.set(name, i)
    return name
  })
}

export function resolveConfig(parsed: ParsedConfig, file: string, baseDir: string) {
  const findings = new Findings()
  const { admin, listen } = parsed
  if (!isLoopback(admin.listen.host) && admin.token === undefined) {
    findings.add(
      ['admin', 'listen'],
      'value',
      `${admin.listen.host} is not a loopback address: set admin.token`,
    )
  }
  if (clash(listen, admin.listen)) {
    findings.add(['admin', 'listen'], 'value', 'must not share the gateway listen address (port)')
  }
  const upstreams: Record<string, UpstreamConfig> = {}
  for (const [name, upstream] of Object.entries(parsed.upstreams)) upstreams[name] = { name, ...upstream }

  const context = {
    upstreams,
    refreshDefaults: parsed.refreshDefaults,
    maxVariants: parsed.limits.maxVariants,
    findings,
  }
  const routeNames = nameAll(parsed.routes, 'routes', findings)
  const routes: RouteConfig[] = parsed.routes.map((route, i) => ({
    name: routeNames[i]!,
    ...resolveRoute(route, i, context),
  }))
  const seen = new Map<string, number>()
  const claim = (shape: string, at: (string | number)[], what: string) => {
    const first = seen.get(shape)
    if (first === undefined) seen.set(shape, at[1] as number)
    else findings.add(at, 'value', `${what} is already answered by ${at[0]}[${first}]`)
  }
  routes.forEach((route, i) => {
    if (route.pattern.shape.startsWith('/_cistern')) {
      findings.add(['routes', i, 'path'], 'value', 'paths under /_cistern are reserved')
    }
    for (const method of route.methods)
      claim(`${method} ${route.pattern.shape}`, ['routes', i, 'path'], `${method} ${route.path}`)
  })

  const webhookNames = nameAll(parsed.webhooks, 'webhooks', findings)
  const webhooks: WebhookConfig[] = parsed.webhooks.map((hook, i) => {
    const at = ['webhooks', i]
    const params = hook.path.params
    if (hook.path.shape.startsWith('/_cistern'))
      findings.add([...at, 'path'], 'value', 'paths under /_cistern are reserved')
    const route = seen.get(`POST ${hook.path.shape}`)
    if (route !== undefined)
      findings.add([...at, 'path'], 'value', `POST ${hook.path.source} is also routes[${route}]`)
    const scope = { params, roots: ['body', 'headers'] }
    for (const [j, action] of hook.on.entries()) {
      checkAll(action.invalidate, scope, [...at, 'on', j, 'invalidate'], findings)
      checkAll(action.refresh, scope, [...at, 'on', j, 'refresh'], findings)
    }
    return { ...hook, name: webhookNames[i]!, path: hook.path.source, pattern: hook.path }
  })
  const webhookShapes = new Map<string, number>()
  webhooks.forEach((hook, i) => {
    const first = webhookShapes.get(hook.pattern.shape)
    if (first !== undefined)
      findings.add(['webhooks', i, 'path'], 'value', `is already used by webhooks[${first}]`)
    else webhookShapes.set(hook.pattern.shape, i)
  })

  const notify: NotifyConfig[] = parsed.notify.map((target, i) => {
    const names = routes.map((route) => route.name)
    target.routes.forEach((name, j) => {
      if (!names.includes(name)) {
        findings.add(
          ['notify', i, 'routes', j],
          'reference',
          `unknown route "${name}"${didYouMean(name, names)}`,
        )
      }
    })
    if (target.template) {
      const scope = { params: [], roots: ['params', 'body'], names: [...EVENT_FIELDS, ...EVENT_LISTS] }
      checkRefs(target.template, scope, ['notify', i, 'template'], findings)
    }
    return target
  })

  parsed.feed.tokens.forEach((token, i) => {
    // The admin token must never travel to the public port, even to read the feed.
    if (token === admin.token) findings.add(['feed', 'tokens', i], 'value', 'must differ from admin.token')
  })
  if (parsed.feed.public && parsed.feed.tokens.length === 0) {
    findings.add(
      ['feed', 'tokens'],
      'value',
      'is required with public: true (the public port never serves the change feed without a token)',
    )
  }

  const config: CisternConfig = {
    file,
    listen,
    admin,
    store: resolveStore(parsed.store, baseDir, findings),
    limits: parsed.limits,
    server: parsed.server,
    log: parsed.log,
    refreshDefaults: parsed.refreshDefaults,
    feed: parsed.feed,
    upstreams,
    routes,
    webhooks,
    notify,
  }
  return { config, issues: findings.issues }
}
