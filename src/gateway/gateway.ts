import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { CisternConfig } from '../config/types.js'
import type { Cache } from '../engine/cache.js'
import { createCache } from '../engine/create-cache.js'
import type { Coordination } from '../stores/coordination.js'
import { openStore } from '../stores/open-store.js'
import type { Store } from '../stores/store.js'
import { createUpstream, type Upstream } from '../upstream/create-upstream.js'
import { closeServer } from '../util/close-server.js'
import type { Part } from '../util/lifecycle.js'
import type { Timers } from '../util/timers.js'
import { responseCodec, type StoredResponse } from './response/stored-response.js'
import { Router } from './routing/router.js'
import { answerClientErrors } from './server/client-error.js'
import type { ExtraHandler, GatewayContext } from './server/context.js'
import { createHandler } from './server/handler.js'
import { capConnections, connectionCaps, listenerOptions } from './server/listener-limits.js'
import { type RefreshOutcome, refreshKey } from './server/refresh-key.js'

export interface GatewayOptions {
  /** Use this store instead of the one the config names (tests, embedding). */
  store?: Store
  /**
   * What instances sharing the store share beyond the entries (openCoordination; startCistern opens
   * it beside the store): given to the cache, and to the upstreams' budgets through the context.
   */
  coordination?: Coordination
  now?: () => number
  /** Timers on the `now` clock for the upstream budgets (default: real ones); startCistern gives refresh the same. */
  timers?: Timers
  onServed?: GatewayContext['onServed']
  /** Hears each client connection closed at once because `server.maxConnections` were open. */
  onConnectionDropped?: () => void
  /** cistern's own paths on the public listener (webhooks in, the change feed), asked before routing. */
  extraHandlers?: readonly ExtraHandler[]
  /** Hears reads of cached routes with a `refresh` policy (the refresh scheduler's enrolment). */
  onRead?: GatewayContext['onRead']
}

export interface Gateway extends Part {
  readonly config: CisternConfig
  readonly context: GatewayContext
  readonly cache: Cache<StoredResponse>
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly server: Server
  /** The bound URL once started (`http://127.0.0.1:8080`); empty before. */
  readonly url: string
  /** Ask the upstream for a stored key again now, in the background lane (schedulers, webhooks). */
  refreshKey(key: string): Promise<RefreshOutcome>
  /** Start listening on config.listen (port 0 picks a free one); `url` then holds the bound URL. */
  start(): Promise<void>
  /**
   * Stop accepting, let in-flight requests finish (up to `graceMs`), then close upstreams and the
   * store. Safe before start (it then only closes upstreams and the store) and more than once.
   */
  close(graceMs?: number): Promise<void>
}

export function createGateway(config: CisternConfig, options: GatewayOptions = {}): Gateway {
  const now = options.now ?? Date.now
  const store = options.store ?? openStore(config.store)
  const cache = createCache<StoredResponse>({
    store,
    memory: config.store.memory,
    codec: responseCodec,
    storeTimeout: config.store.timeout,
    now,
    ...(options.coordination && { coordination: options.coordination }),
  })
  const upstreams = new Map<string, Upstream>()
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    upstreams.set(name, createUpstream(upstream, config.limits.maxResponseSize, now, options.timers))
  }
  const context: GatewayContext = {
    config,
    cache,
    router: new Router(config.routes),
    upstreams,
    now,
    ...(options.onServed && { onServed: options.onServed }),
    ...(options.onRead && { onRead: options.onRead }),
    extraHandlers: [...(options.extraHandlers ?? [])],
    ...(options.coordination && { coordination: options.coordination }),
  }
  const handler = createHandler(context)
  const server = createServer(listenerOptions(config.server), handler)
  // `Expect: 100-continue`: a body that would be refused is not invited; the 413 comes at once.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(Number(req.headers['content-length']) > config.limits.maxBodySize)) res.writeContinue()
    handler(req, res)
  })
  capConnections(server, connectionCaps(config.server.maxConnections).public, () =>
    options.onConnectionDropped?.(),
  )
  answerClientErrors(server)
  // cistern is not a forward proxy: CONNECT tunnels are refused outright.
  server.on('connect', (_req, socket: Duplex) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  })
  let closing: Promise<void> | undefined
  let url = ''

  return {
    config,
    context,
    cache,
    upstreams,
    server,
    get url() {
      return url
    },
    refreshKey: (key) => refreshKey(context, key),
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        // A deep accept queue: a burst of new clients must not overflow it into SYN retransmits.
        server.listen({ port: config.listen.port, host: config.listen.host, backlog: 4096 }, () => {
          server.off('error', reject)
          const { address, port } = server.address() as AddressInfo
          url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`
          resolve()
        })
      }),
    close(graceMs = 10_000) {
      closing ??= (async () => {
        await closeServer(server, graceMs)
        for (const upstream of upstreams.values()) {
          upstream.budget?.close()
          await upstream.client.close()
        }
        await cache.close()
      })()
      return closing
    },
  }
}
