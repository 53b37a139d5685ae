import { randomUUID } from 'node:crypto'
import type { Coordination } from '../coordination.js'
import { createRedisBus } from './bus.js'
import { createRedisCeiling } from './ceiling.js'
import { createRedisChangeLog } from './change-log.js'
import type { RedisConnection } from './connection.js'
import { RedisHeartbeat } from './heartbeat.js'
import { createRedisLeases } from './leases.js'
import { createRedisOnce } from './once.js'
import { createRedisRefreshClaims } from './refresh-claims.js'

/** What a part may need beyond its interface: work to start (a stream reader) and to stop. */
interface PartLifecycle {
  start?(): Promise<void>
  close?(): Promise<void>
}

export interface RedisCoordinationOptions {
  /** This process's id (default: random per start). */
  instanceId?: string
  /** Told of a part that failed to start (the instance runs on that part's local fallback meanwhile). */
  onError?: (error: unknown, what: string) => void
}

export interface RedisCoordination extends Coordination {
  readonly connection: RedisConnection
  readonly heartbeat: RedisHeartbeat
}

/**
 * The Coordination of several instances on one Redis, assembled on one connection: its parts, a
 * heartbeat (live instances, by the server's clock) and one health verdict, the connection's breaker,
 * which every part shares (a part whose calls fail opens it for all; its PING probe closes it).
 * It holds the connection as one of its holders (RedisConnection.share): the store is the other.
 */
export function redisCoordination(
  connection: RedisConnection,
  options: RedisCoordinationOptions = {},
): RedisCoordination {
  const instanceId = options.instanceId ?? randomUUID()
  connection.share()
  const heartbeat = new RedisHeartbeat(connection, instanceId)
  const made = {
    invalidations: createRedisBus(connection, instanceId),
    leases: createRedisLeases(connection, instanceId),
    ceiling: createRedisCeiling(connection, instanceId, heartbeat),
    refreshClaims: createRedisRefreshClaims(connection, instanceId),
    changes: createRedisChangeLog(connection, instanceId),
    once: createRedisOnce(connection, instanceId),
  }
  // The parts with work of their own: the two stream readers, and the leases' wake-up subscriber.
  const lifecycles: PartLifecycle[] = [made.invalidations, made.changes, made.leases]
  let started: Promise<void> | undefined
  let closed: Promise<void> | undefined
  return {
    name: 'redis',
    instanceId,
    connection,
    heartbeat,
    ...made,
    healthy: () => connection.healthy(),
    start() {
      started ??= (async () => {
        // Redis down at start is no reason not to start: parts fall back to local behaviour and the
        // heartbeat (every second) finds Redis when it is back.
        await connection.ready()
        await heartbeat.start()
        for (const part of lifecycles) {
          await part.start?.().catch((error: unknown) => options.onError?.(error, 'coordination start'))
        }
      })()
      return started
    },
    close() {
      closed ??= (async () => {
        for (const part of [...lifecycles].reverse()) await part.close?.().catch(() => {})
        await heartbeat.close()
        await connection.close()
      })()
      return closed
    },
  }
}
