/**
 * Redis store benchmark, `npm run bench:redis`: one run, one process, a redis-server of its own on a
 * free loopback port (or REDIS_URL).
 *
 * 1. A hit served from Redis after a memory-tier miss: createCache({ store: redisStore, memory: false }),
 *    so every getOrSet reads Redis (one EVALSHA round trip, the entry and its LRU touch). 1,024 warm
 *    keys rotating, ~1 KB JSON value; 20,000 sequential awaited calls, each timed; percentiles.
 *    SQLite the same way beside it, for reference.
 * 2. Hit throughput with a warm memory tier, on Redis and on SQLite: createCache({ store }) with the
 *    default 64MB tier; rounds of 100,000 sequential getOrSet hits, alternating between the two stores,
 *    15 rounds each; the median round of each and their ratio.
 * Every timed call is checked to be a hit (no factory runs), or the run fails. The measuring is
 * bench/lib/store-beside-sqlite.ts, shared with bench/postgres.ts; this file starts the server.
 */
import { redisBench, startRedis } from './lib/redis-server.js'
import { benchStoreBesideSqlite } from './lib/store-beside-sqlite.js'

const redis = await startRedis()
try {
  await benchStoreBesideSqlite(redisBench(redis))
} finally {
  redis.stop()
}
