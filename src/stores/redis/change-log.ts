import type { SharedChange, SharedChangeLog } from '../coordination.js'
import { type RedisClient, type RedisConnection, RedisScript } from './connection.js'

export interface RedisChangeLogOptions {
  /** Events kept for Last-Event-ID (default 10,000, as the single-instance buffer). */
  capacity?: number
}

/**
 * Append the event to the stream (trimmed approximately, never below the capacity) and index its id.
 * The index holds exactly the newest `capacity` ids, in a list that gives their order, so it is
 * trimmed with the stream in O(1) per append and every id it holds is still in the stream.
 */
const APPEND = new RedisScript(
  'changes-append',
  `local sid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[2], 'route', ARGV[3], 'json', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], sid)
redis.call('RPUSH', KEYS[3], ARGV[2])
local over = redis.call('LLEN', KEYS[3]) - tonumber(ARGV[1])
while over > 0 do
  redis.call('HDEL', KEYS[2], redis.call('LPOP', KEYS[3]))
  over = over - 1
end
return sid`,
)

/** Entries after an event id (all from the start without one); nil when the id is not kept. One step, so it cannot be trimmed in between. */
const SINCE = new RedisScript(
  'changes-since',
  `local from = '-'
if ARGV[1] ~= '' then
  local sid = redis.call('HGET', KEYS[2], ARGV[1])
  if not sid then return false end
  from = '(' .. sid
end
return redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', ARGV[2])`,
)

type StreamEntry = [id: string, fields: string[]]

/** How long to wait before reading again after a failed read (the server away). */
const RETRY_MS = 250

/**
 * The shared change feed on Redis: a Stream of {id, route, json}, `XADD MAXLEN ~ capacity`, with an
 * id → stream-id hash (trimmed with the stream, see APPEND) for Last-Event-ID: a lookup is one HGET
 * and an XRANGE from there, never a scan of the stream. `tail` reads with XREAD BLOCK on a connection
 * of its own (a blocking read holds its connection), from the stream's last id when it starts.
 */
export function createRedisChangeLog(
  connection: RedisConnection,
  _instanceId: string,
  options: RedisChangeLogOptions = {},
): SharedChangeLog & { close(): Promise<void> } {
  const capacity = Math.max(1, Math.floor(options.capacity ?? 10_000))
  const keys = [
    connection.key('changes', 'changes', 'stream'),
    connection.key('changes', 'changes', 'ids'),
    connection.key('changes', 'changes', 'order'),
  ]
  const listeners = new Set<(event: SharedChange) => void>()
  // A blocking read must end before the command deadline, or every idle wait would be a timeout.
  const blockMs = Math.max(50, Math.floor(connection.timeoutMs / 2))
  let reader: RedisClient | undefined
  let reading = false

  async function lastId(): Promise<string> {
    const newest = await connection.call('changes-tail', (client) =>
      client.xrevrange(keys[0]!, '+', '-', 'COUNT', 1),
    )
    return newest[0]?.[0] ?? '0-0'
  }

  async function read(): Promise<void> {
    reader ??= connection.duplicate()
    let last: string | undefined
    while (listeners.size > 0 && reader.status !== 'end') {
      try {
        last ??= await lastId()
        const reply = (await reader.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', keys[0]!, last)) as
          | [string, StreamEntry[]][]
          | null
        for (const [, entries] of reply ?? []) {
          for (const [sid, fields] of entries) {
            last = sid
            const event = changeOf(fields)
            if (event) for (const listener of listeners) safely(listener, event)
          }
        }
      } catch {
        // The server is away (or the reader still connecting): read again from the same position.
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref())
      }
    }
    reading = false
  }

  return {
    async append(event) {
      await connection.run(APPEND, keys, [capacity, event.id, event.route, event.json])
    },

    async since(lastEventId, limit) {
      const entries = await connection.run<StreamEntry[] | null>(SINCE, keys.slice(0, 2), [
        lastEventId ?? '',
        Math.max(1, Math.floor(limit)),
      ])
      if (entries === null) return undefined
      return entries.flatMap(([, fields]) => changeOf(fields) ?? [])
    },

    tail(listener) {
      listeners.add(listener)
      if (!reading) {
        reading = true
        void read()
      }
      return () => {
        listeners.delete(listener)
      }
    },

    /** Stop reading (the reader's connection closes with the connection). */
    async close() {
      listeners.clear()
    },
  }
}

function changeOf(fields: string[]): SharedChange | undefined {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!)
  const id = map.get('id')
  const route = map.get('route')
  const json = map.get('json')
  return id !== undefined && route !== undefined && json !== undefined ? { id, route, json } : undefined
}

// One listener's failure must not keep the event from the others.
function safely(listener: (event: SharedChange) => void, event: SharedChange): void {
  try {
    listener(event)
  } catch {}
}
