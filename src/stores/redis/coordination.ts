import { randomUUID } from 'node:crypto'
import type {
  Coordination,
  InvalidationBus,
  Leases,
  OnceRegistry,
  RefreshClaims,
  SharedCeiling,
  SharedChangeLog,
} from '../coordination.js'
import type { RedisConnection } from './connection.js'
import { RedisHeartbeat } from './heartbeat.js'

/** What a part may need beyond its interface: work to start (a stream reader) and to stop. */
export interface PartLifecycle {
  start?(): Promise<void>
  close?(): Promise<void>
}

/** A coordination part on Redis, made from the one connection and this process's id. */
export type RedisPartFactory<T> = (connection: RedisConnection, instanceId: string) => T & PartLifecycle

/** The factories of the six parts, each in its own file under src/stores/redis/ (parts.ts lists them). */
export interface RedisParts {
  createBus: RedisPartFactory<InvalidationBus>
  createLeases: RedisPartFactory<Leases>
  createCeiling: RedisPartFactory<SharedCeiling>
  createRefreshClaims: RedisPartFactory<RefreshClaims>
  createChangeLog: RedisPartFactory<SharedChangeLog>
  createOnce: RedisPartFactory<OnceRegistry>
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
  parts: RedisParts,
  options: { instanceId?: string; onError?: (error: unknown, what: string) => void } = {},
): RedisCoordination {
  const instanceId = options.instanceId ?? randomUUID()
  connection.share()
  const heartbeat = new RedisHeartbeat(connection, instanceId)
  const made = {
    invalidations: parts.createBus(connection, instanceId),
    leases: parts.createLeases(connection, instanceId),
    ceiling: parts.createCeiling(connection, instanceId),
    refreshClaims: parts.createRefreshClaims(connection, instanceId),
    changes: parts.createChangeLog(connection, instanceId),
    once: parts.createOnce(connection, instanceId),
  }
  const lifecycles: PartLifecycle[] = Object.values(made)
  const ceiling = made.ceiling
  let started: Promise<void> | undefined
  let closed: Promise<void> | undefined
  return {
    name: 'redis',
    instanceId,
    connection,
    heartbeat,
    ...made,
    // One count of live instances for everyone: the heartbeat's, scored by the server's TIME.
    ceiling: {
      take: (bucket, rate, lane) => ceiling.take(bucket, rate, lane),
      pause: (bucket, forMs, reason) => ceiling.pause(bucket, forMs, reason),
      liveInstances: () => heartbeat.liveInstances(),
    },
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
