import { createHash } from 'node:crypto'
import type pg from 'pg'
import { rejectAfter } from '../../util/deadline.js'
import { quoteIdent } from './identifier.js'

/** What the listener needs of the connection (connection.ts), which makes it. */
export interface ListenerHost {
  readonly namespace: string
  readonly timeoutMs: number
  newClient(): pg.Client
  onRecover(listener: () => void): () => void
}

/** How long the listening connection waits between attempts to come back. */
const RETRY_MS = 250
/** How often the listening connection is checked (a frozen server never closes it). */
const CHECK_EVERY_MS = 2000

/**
 * The one connection holding LISTEN for every coordination part. A notice says only "look": the parts
 * read what happened from their tables (NOTIFY is dropped for a listener that is away, and payloads
 * are small), so a notice lost in an outage costs nothing as long as the part reads again when the
 * connection comes back, which `onReconnect` tells it to do.
 *
 * The connection is not from the pool (it is held for as long as cistern runs); it is checked every
 * few seconds with a query under the deadline, and replaced when that fails, when it errors, when the
 * server ends it, and when the breaker closes after an outage.
 */
export class Listener {
  readonly #connection: ListenerHost
  readonly #channels = new Map<string, Set<(payload: string) => void>>()
  readonly #reconnects = new Set<() => void>()
  #client: pg.Client | undefined
  #connecting: Promise<void> | undefined
  #retry: NodeJS.Timeout | undefined
  #check: NodeJS.Timeout | undefined
  #closed = false

  constructor(connection: ListenerHost) {
    this.#connection = connection
    connection.onRecover(() => this.#reconnect())
  }

  /** The channel name of `topic` under this connection's namespace (NOTIFY channels are per database). */
  channel(topic: string): string {
    const tag = createHash('sha1').update(this.#connection.namespace).digest('hex').slice(0, 12)
    return `cistern_${tag}_${topic}`
  }

  /** Calls `onNotice` with each notice's payload on `channel`. Returns an unsubscribe. */
  listen(channel: string, onNotice: (payload: string) => void): () => void {
    let handlers = this.#channels.get(channel)
    if (!handlers) {
      handlers = new Set()
      this.#channels.set(channel, handlers)
      this.#client?.query(`LISTEN ${quoteIdent(channel)}`).catch(() => this.#reconnect())
    }
    handlers.add(onNotice)
    this.start()
    return () => {
      handlers.delete(onNotice)
    }
  }

  /** Called after every (re)connection, once LISTEN holds: read what may have been missed. */
  onReconnect(listener: () => void): () => void {
    this.#reconnects.add(listener)
    return () => this.#reconnects.delete(listener)
  }

  /** Connects now (resolves when listening); failures retry in the background and resolve nothing. */
  start(): Promise<void> {
    if (this.#client || this.#closed) return Promise.resolve()
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    clearInterval(this.#check)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  async #connect(): Promise<void> {
    const client = this.#connection.newClient()
    client.on('error', () => this.#lost(client))
    client.on('end', () => this.#lost(client))
    client.on('notification', (message) => {
      for (const handler of this.#channels.get(message.channel) ?? []) handler(message.payload ?? '')
    })
    try {
      const listening = async () => {
        await client.connect()
        for (const channel of this.#channels.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`)
      }
      await rejectAfter(listening(), this.#connection.timeoutMs)
    } catch {
      client.end().catch(() => {})
      this.#scheduleRetry()
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    clearInterval(this.#check)
    this.#check = setInterval(() => {
      rejectAfter(client.query('SELECT 1'), this.#connection.timeoutMs).catch(() => this.#lost(client))
    }, CHECK_EVERY_MS)
    this.#check.unref()
    for (const listener of this.#reconnects) listener()
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    clearInterval(this.#check)
    client.end().catch(() => {})
    this.#scheduleRetry()
  }

  #reconnect(): void {
    if (this.#client) this.#lost(this.#client)
    else this.start()
  }

  #scheduleRetry(): void {
    if (this.#closed) return
    clearTimeout(this.#retry)
    this.#retry = setTimeout(() => this.start(), RETRY_MS)
    this.#retry.unref()
  }
}
