import type { Rate } from '../util/units.js'
import type { CompiledExpression } from './cel.js'
import type { PathPattern } from './path-pattern.js'
import type { ListenAddress } from './schema/net.js'
import type { Template } from './template.js'

/**
 * The fully resolved configuration: every default applied, durations in milliseconds, sizes in
 * bytes, rates as {count, perMs}, expressions compiled, templates parsed and checked. Templates,
 * patterns and expressions serialize to their source, so `JSON.stringify(config)` reads well.
 */
export interface CisternConfig {
  /** The file it was loaded from, as given. */
  file: string
  listen: ListenAddress
  admin: AdminConfig
  store: StoreConfig
  limits: LimitsConfig
  server: ServerConfig
  log: LogConfig
  refreshDefaults: RefreshDefaults
  feed: FeedConfig
  upstreams: Record<string, UpstreamConfig>
  routes: RouteConfig[]
  webhooks: WebhookConfig[]
  notify: NotifyConfig[]
}

export type { ListenAddress }

export interface AdminConfig {
  listen: ListenAddress
  /** Bearer token for the admin API; required unless admin.listen is a loopback address. */
  token?: string
}

interface StoreCommon {
  /** Byte bound of the in-process memory tier in front of the store. */
  memory: number
  /** Timeout of every store call, ms. */
  timeout: number
  /** Bound on what the store keeps, bytes: least recently used entries are evicted beyond it. */
  maxSize: number
}
export type StoreConfig =
  | (StoreCommon & { kind: 'memory' })
  | (StoreCommon & { kind: 'sqlite'; path: string })
  | (StoreCommon & {
      kind: 'redis' | 'postgres'
      url: string
      /** Prefix of every key (redis) or the schema (postgres): several deployments share one server. */
      namespace: string
    })
export type StoreKind = StoreConfig['kind']

export interface LimitsConfig {
  /** Largest accepted client request body (413 above), bytes. */
  maxBodySize: number
  /** Largest accepted upstream response body, bytes. */
  maxResponseSize: number
  /** Default of a route's maxVariants. */
  maxVariants: number
}

/** How long and how many client connections the listeners keep (all durations > 0). */
export interface ServerConfig {
  /** Open connections on the public listener; 'auto' is derived from the open-file limit at start. */
  maxConnections: number | 'auto'
  /** ms to receive a request's headers. */
  headersTimeout: number
  /** ms to receive a whole request, headers and body (>= headersTimeout). */
  requestTimeout: number
  /** ms an idle keep-alive connection stays open. */
  keepAliveTimeout: number
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export interface LogConfig {
  level: LogLevel
}

/** The change feed: on the admin listener always; on the public port only with `public` and a token. */
export interface FeedConfig {
  /** Also serve /_cistern/changes on the public port (bearer `tokens` required there). */
  public: boolean
  /** Bearer tokens accepted on the public port. */
  tokens: string[]
  /** Open streams per listener; one more is answered 503 with Retry-After. */
  maxConnections: number
  /** Comment line interval on idle streams, ms. */
  heartbeat: number
  /** A client with this many bytes not yet taken by its socket is dropped (it resumes by id). */
  maxBuffered: number
}

export type Priority = 'critical' | 'high' | 'normal' | 'low'

export interface RefreshDefaults {
  /** `while: hot` means read within this window, ms. */
  hotWindow: number
  priority: Priority
}

export type AuthConfig =
  | { kind: 'basic'; username: string; password: string }
  /** A pool of one or more bearer tokens. */
  | { kind: 'bearer'; tokens: string[] }
  /** A header carrying one key from a pool. */
  | { kind: 'header'; name: string; values: string[] }
  /** A query parameter carrying one key from a pool. */
  | { kind: 'query'; name: string; values: string[] }
  /** OAuth 2.0 client credentials: cistern fetches, caches and renews the access token. */
  | {
      kind: 'oauth2'
      tokenUrl: string
      clientId: string
      clientSecret: string
      /** Space-separated scopes, or undefined to ask for the client's default scope. */
      scope: string | undefined
      /** How the client authenticates to the token endpoint: HTTP Basic (RFC 6749 §2.3.1) or form fields. */
      clientAuth: 'basic' | 'body'
    }

/** `fraction` of the budget, or a `count` of tokens, that only foreground requests may spend. */
export type Reserve = { kind: 'fraction'; value: number } | { kind: 'count'; value: number }

export interface BudgetConfig {
  /** Every rate holds at once (`[100/s, 36000/h]`); empty means no rate ceiling. */
  rate: Rate[]
  burst: number
  concurrency: number
  /** One budget for the upstream, or one per key of its key pool. */
  per: 'upstream' | 'key'
  reserve: Reserve
  /**
   * Longest wait for a permit, ms. Foreground past it: a stored copy or 503 with Retry-After, never a
   * call over the limit. Background (refresh, warming) may queue longer: nobody waits on it.
   */
  maxWait: { foreground: number; background: number }
}

export interface UpstreamConfig {
  name: string
  /** Base URL, without query or trailing slash; nothing outside it is ever contacted. */
  url: string
  /** `https://host:port` of url. */
  origin: string
  /** Path of url ('' for the root), never ending in '/'. */
  basePath: string
  auth?: AuthConfig
  /** Extra request headers (lower-case names). */
  headers: Record<string, string>
  /** Client request headers that carry credentials besides Authorization and Cookie (lower-case). */
  clientCredentials: string[]
  budget: BudgetConfig
  /** Total time for one call, ms. */
  timeout: number
  timeouts: { connect: number; headers: number; body: number }
  retries: { max: number; backoff: number }
  breaker: { failures: number; cooldown: number }
  /** Statuses that pause the upstream (or the key): always includes 429. */
  pauseOn: number[]
  expect: 'json' | 'any'
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'

export type WhilePolicy =
  | { kind: 'hot'; window: number }
  | { kind: 'always' }
  | { kind: 'cel'; expression: CompiledExpression }

export interface RefreshConfig {
  /** Period, ms; with `adaptive`, its `min` (each key's own period is the scheduler's to learn). */
  every: number
  /** `every: adaptive`: each key's period is learned from its changes, within these bounds (ms). */
  adaptive?: { min: number; max: number }
  while: WhilePolicy
  priority: Priority
}

export interface ChangesConfig {
  /** The list of items (CEL over body, params, headers, now); absent means whole-body changes. */
  items?: CompiledExpression
  /** An item's id (CEL over item, body, params, now); present exactly when `items` is. */
  id?: CompiledExpression
  /** Tags to invalidate when a change is detected (route params, item.*, body.*). */
  invalidates: Template[]
  soft: boolean
}

export interface WarmConfig {
  /** The list to warm for (CEL); absent: the path is rendered once. */
  each?: CompiledExpression
  /** Gateway path templates (`path`: one or a list): {params.x} or {x}, {item.x}, {body.x}. */
  paths: Template[]
  /** Warm for every item, not only the changed ones. */
  all: boolean
}

export interface RouteConfig {
  name: string
  /** The path pattern as written. */
  path: string
  pattern: PathPattern
  upstream: string
  /** Upstream path (and query) template, relative to the upstream's url; `:param` and `{param}`. */
  to: Template
  methods: HttpMethod[]
  cache: boolean
  /** Fresh for, ms; undefined: follow the upstream's caching headers (RFC 9111). */
  ttl?: number
  stale: number
  staleIfError: number
  /**
   * With a ttl: how long a 404 or 410 stays fresh, ms (0: not stored); never served stale, so a
   * newly created item shows up within it. Other error statuses are not stored on ttl routes.
   */
  negativeTtl: number
  /** Fraction 0..1 of ttl taken off at random. */
  jitter: number
  tags: Template[]
  /** Request headers that join the cache key (lower-case). */
  vary: string[]
  /** `allow`: only these params join the key and reach the upstream (absent: all but `ignore`). */
  query: { ignore: string[]; allow?: string[] }
  /** Entries kept per path; over it an answer is served but not stored. */
  maxVariants: number
  /**
   * Client headers that carry credentials on this route's upstream: Authorization, Cookie and the
   * upstream's clientCredentials. Keyed as a hash, never in the clear; never forwarded on public routes.
   */
  credentials: string[]
  public: boolean
  bypass: boolean
  /**
   * Client request headers never forwarded (lower-case), on the routes that forward a client's
   * end-to-end headers: no-ttl routes and pass-through.
   */
  dropHeaders: string[]
  /** Strip an upstream Set-Cookie and store the answer, instead of not storing it. */
  ignoreSetCookie: boolean
  /**
   * With a ttl: the Cache-Control clients get. `cistern`: cistern's own policy (`max-age` = the
   * freshness left); `upstream`: the upstream's, as stored.
   */
  clientCacheControl: 'cistern' | 'upstream'
  invalidates: Template[]
  refresh?: RefreshConfig
  changes?: ChangesConfig
  warm?: WarmConfig
  prewarm: string[]
  expect: 'json' | 'any'
}

export type VerifyScheme = 'hmac-sha256' | 'standard-webhooks' | 'stripe'

export interface VerifyConfig {
  scheme: VerifyScheme
  /** Signature header, lower-case. */
  header: string
  encoding: 'hex' | 'base64'
  prefix: string
  /** Every secret currently valid (rotation). */
  secrets: string[]
  /** Accepted clock skew for timestamped schemes, ms (0 for hmac-sha256). */
  tolerance: number
}

export interface WebhookAction {
  /** CEL over body, headers, params, now; absent: always. */
  when?: CompiledExpression
  invalidate: Template[]
  /** Tags to refresh; a template starting with "/" names a gateway path instead. */
  refresh: Template[]
  soft: boolean
}

export interface WebhookConfig {
  name: string
  path: string
  pattern: PathPattern
  verify: VerifyConfig
  maxBodySize: number
  /** A repeated delivery (same id or body digest) inside this window is not acted on twice, ms. */
  replayWindow: number
  /** How long received events are kept, ms. */
  retention: number
  on: WebhookAction[]
}

export interface NotifyConfig {
  url: string
  kind: 'standard-webhooks' | 'discord' | 'slack'
  /** Signing secret (standard-webhooks). */
  secret?: string
  /** Chat message template over the change event ({route}, {url}, {key} ...). */
  template?: Template
  /** Only changes of these routes; empty: all. */
  routes: string[]
}
