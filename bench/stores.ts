/**
 * The three stores side by side, `npm run bench:stores`: SQLite, Redis and Postgres in one process
 * and one run (each server of its own, on a free loopback port), both parts of
 * bench/lib/store-beside-sqlite.ts: a hit from the store after a memory-tier miss (percentiles) and
 * hit throughput with a warm memory tier (alternating rounds, so a busy moment falls on all three).
 */
import { postgresBench, startPostgres } from './lib/postgres-server.js'
import { redisBench, startRedis } from './lib/redis-server.js'
import { benchStoresBesideSqlite } from './lib/store-beside-sqlite.js'

const redis = await startRedis()
const postgres = await startPostgres().catch((error: unknown) => {
  redis.stop()
  throw error
})
try {
  await benchStoresBesideSqlite([redisBench(redis), postgresBench(postgres)], {
    rounds: 9,
    roundCalls: 100_000,
  })
} finally {
  redis.stop()
  postgres.stop()
}
