import { randomUUID } from 'node:crypto'
import type { InvalidationBus, InvalidationListener, InvalidationMessage } from '../coordination.js'
import type { Selector } from '../store.js'
import { type RedisClient, type RedisConnection, RedisScript, whenReady } from './connection.js'

export interface RedisBusOptions {
  /** Messages the stream keeps (XADD MAXLEN ~): how far behind a reader may fall before it has a gap. */
  maxLength?: number
  /** How long one XREAD waits for news; between waits the reader checks the stream was not recreated. */
  blockMs?: number
}

/** An InvalidationBus that also stops reading (the coordination closes it). */
export interface RedisBus extends InvalidationBus {
  /**
   * Find the reading position and start reading (the first subscribe does it too). Never rejects:
   * with the server down it keeps trying, and tells its listeners `gap` once it reads again.
   */
  start(): Promise<void>
  close(): Promise<void>
}

const DEFAULT_MAX_LENGTH = 10_000
const DEFAULT_BLOCK_MS = 1000
/** Back-off between failed reads: the reader keeps trying until the server answers again. */
const RETRY_MS = [50, 100, 200, 500, 1000]

/**
 * Every message carries the stream's epoch and its sequence number within it. Both are kept in a
 * hash beside the stream and stamped in the same script as the XADD, so the sequence has no holes:
 * a reader that sees a number other than the one after its last knows it missed messages (trimmed
 * away while it was behind, lost in a failover). A new epoch is drawn when the stream is found gone
 * after it held messages (deleted, or the server restarted empty): readers of the old epoch cannot
 * know what they missed.
 */
const PREPARE = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch or (redis.call('EXISTS', KEYS[1]) == 0 and tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') > 0) then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'seq', 0)
end
`

/** KEYS: stream, meta. ARGV: candidate epoch, max length, origin, soft, selector. Returns the id. */
const PUBLISH = new RedisScript(
  'publish invalidation',
  `${PREPARE}
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, 'n', seq, 'o', ARGV[3], 's', ARGV[4], 'x', ARGV[5])
`,
)

/**
 * KEYS: stream, meta. ARGV: candidate epoch. Returns { epoch, seq, last id }: the position a reader
 * starts from, read atomically so no message falls between the three.
 */
const POSITION = new RedisScript(
  'read invalidation position',
  `${PREPARE}
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
return { epoch, redis.call('HGET', KEYS[2], 'seq'), id }
`,
)

interface Position {
  epoch: string
  seq: number
  id: string
}

/**
 * The invalidation bus on a Redis Stream (pub/sub would drop what is sent while a reader is
 * disconnected). Messages carry the selector, the soft flag and the origin instance, never values.
 * Each instance reads with XREAD BLOCK on a connection of its own, from its last id; `at` of a
 * message is its stream id's time, which the server stamps (never an instance's clock). Whenever the
 * reader cannot be sure it saw every message (a hole in the sequence, a new epoch, a failed read),
 * its listeners are told `gap` and drop their memory tier.
 */
export function createRedisBus(
  connection: RedisConnection,
  instanceId: string,
  options: RedisBusOptions = {},
): RedisBus {
  return new RedisStreamBus(connection, instanceId, options)
}

class RedisStreamBus implements RedisBus {
  readonly #connection: RedisConnection
  readonly #instanceId: string
  readonly #maxLength: number
  readonly #blockMs: number
  readonly #keys: readonly [string, string]
  readonly #listeners = new Set<InvalidationListener>()
  #reader: RedisClient | undefined
  #position: Position | undefined
  #starting: Promise<void> | undefined
  #loop: Promise<void> | undefined
  #closed = false

  constructor(connection: RedisConnection, instanceId: string, options: RedisBusOptions) {
    this.#connection = connection
    this.#instanceId = instanceId
    this.#maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH
    this.#blockMs = options.blockMs ?? DEFAULT_BLOCK_MS
    this.#keys = [connection.key('bus', 'stream'), connection.key('bus', 'meta')]
  }

  async publish(message: InvalidationMessage): Promise<void> {
    await this.#connection.run(PUBLISH, this.#keys, [
      randomUUID(),
      this.#maxLength,
      this.#instanceId,
      message.soft ? '1' : '0',
      JSON.stringify(message.selector),
    ])
  }

  subscribe(listener: InvalidationListener): () => void {
    this.#listeners.add(listener)
    void this.start()
    return () => {
      this.#listeners.delete(listener)
    }
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#starting ??= this.#begin()
    return this.#starting
  }

  async #begin(): Promise<void> {
    // A connection of its own: XREAD BLOCK holds it while it waits, and its deadline must outlast the wait.
    this.#reader = this.#connection.duplicate({
      name: `cistern-bus-${this.#instanceId}`,
      commandTimeoutMs: this.#blockMs + this.#connection.timeoutMs,
      // A read cut off by a dropped connection must fail, not be sent again: what was published while
      // it was away may be lost (see #read), and the reader must say so.
      resendAfterReconnect: false,
    })
    const wait = Math.max(1000, this.#connection.timeoutMs)
    await Promise.all([this.#connection.ready(wait), whenReady(this.#reader, wait)])
    try {
      this.#position = await this.#readPosition()
    } catch {
      // The server is down now: the loop finds the position once it is back (and reports a gap).
    }
    this.#loop = this.#read()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#reader?.disconnect()
    await this.#loop
  }

  async #readPosition(): Promise<Position> {
    const reply = await this.#connection.run<[string, string, string]>(POSITION, this.#keys, [randomUUID()])
    return { epoch: reply[0], seq: Number(reply[1]), id: reply[2] }
  }

  async #read(): Promise<void> {
    let failure: string | undefined
    let failures = 0
    while (!this.#closed) {
      try {
        if (!this.#position) {
          // Never knew where to start (the server was down at start): anything may have been missed.
          this.#position = await this.#readPosition()
          failure ??= 'no position at start'
        }
        const [reader, stream, from] = [this.#reader!, this.#keys[0], this.#position.id]
        // The first read after a failure does not block: the gap it reports must not wait for news.
        const reply = (
          failure === undefined
            ? await reader.xread('COUNT', 500, 'BLOCK', this.#blockMs, 'STREAMS', stream, from)
            : await reader.xread('COUNT', 500, 'STREAMS', stream, from)
        ) as [string, [string, string[]][]][] | null
        if (failure !== undefined) {
          // Reading again after an outage or a killed connection: messages published meanwhile may be
          // lost (a publisher whose store write went through but whose publish did not), so start clean.
          this.#gap(`reading again after: ${failure}`)
          failure = undefined
        }
        failures = 0
        if (reply === null) await this.#checkEpoch()
        else for (const [id, fields] of reply[0]?.[1] ?? []) this.#deliver(id, fields)
      } catch (error) {
        if (this.#closed) return
        failure ??= error instanceof Error ? error.message : String(error)
        await sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]!)
        // Then read as soon as the connection is back, not a back-off step later.
        if (this.#reader!.status !== 'ready') await whenReady(this.#reader!, RETRY_MS.at(-1)!)
      }
    }
  }

  /** While no message comes: was the stream deleted or the server emptied under the reader? */
  async #checkEpoch(): Promise<void> {
    const now = await this.#readPosition()
    const position = this.#position!
    if (now.epoch === position.epoch && now.seq >= position.seq) return
    this.#position = now
    this.#gap(now.epoch === position.epoch ? 'stream went back' : 'stream recreated')
  }

  #deliver(id: string, fields: string[]): void {
    const position = this.#position!
    const field = (name: string) => {
      for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1]
      return undefined
    }
    const epoch = field('e') ?? ''
    const seq = Number(field('n'))
    const expected = position.seq + 1
    position.id = id
    if (epoch !== position.epoch) {
      position.epoch = epoch
      position.seq = seq
      this.#gap('stream recreated')
      return
    }
    position.seq = seq
    if (seq !== expected) {
      this.#gap(
        seq > expected ? `${seq - expected} messages trimmed away before they were read` : 'stream went back',
      )
      return
    }
    if (field('o') === this.#instanceId) return
    const selector = parseSelector(field('x'))
    if (!selector) {
      this.#gap(`unreadable message ${id}`)
      return
    }
    const message: InvalidationMessage = { selector, soft: field('s') === '1' }
    // The id's first part is the server's clock (ms) when it took the message.
    const at = Number.parseInt(id, 10)
    for (const listener of this.#listeners) listener.invalidate(message, at)
  }

  #gap(reason: string): void {
    for (const listener of this.#listeners) listener.gap(reason)
  }
}

/** The selector a message names, or undefined when it is not one a cistern wrote. */
function parseSelector(json: string | undefined): Selector | undefined {
  if (json === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const fields = Object.keys(value)
  if (fields.length !== 1) return undefined
  const field = fields[0]!
  const content = (value as Record<string, unknown>)[field]
  const text = typeof content === 'string' ? content : undefined
  const list =
    Array.isArray(content) && content.every((item) => typeof item === 'string')
      ? (content as string[])
      : undefined
  if (field === 'key' && text !== undefined) return { key: text }
  if (field === 'tag' && text !== undefined) return { tag: text }
  if (field === 'prefix' && text !== undefined) return { prefix: text }
  if (field === 'keys' && list) return { keys: list }
  if (field === 'tags' && list) return { tags: list }
  return undefined
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
