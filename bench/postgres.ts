/**
 * Postgres store benchmark, `npm run bench:postgres`: one run, one process, a PostgreSQL cluster of
 * its own (initdb in a temp dir, a free loopback port; or POSTGRES_URL), SQLite beside it.
 *
 * 1. A hit served from the store after a memory-tier miss: createCache({ store, memory: false }), so
 *    every getOrSet reads the store (Postgres: one prepared SELECT on a pooled connection). 1,024 warm
 *    keys rotating, ~1 KB JSON value; 20,000 sequential awaited calls, each timed; percentiles.
 * 2. Hit throughput with a warm memory tier (the default 64MB): 7 alternating rounds of 200,000
 *    sequential getOrSet hits per store; the median round of each.
 * Every timed call is checked to be a hit (no factory runs), or the run fails. The server runs with
 * its defaults but fsync (a cache's loss on a crash is bounded anyway; reads do not touch it).
 * The measuring is bench/lib/store-beside-sqlite.ts, shared with bench/redis.ts; this file starts the server.
 */
import { postgresBench, startPostgres } from './lib/postgres-server.js'
import { benchStoreBesideSqlite } from './lib/store-beside-sqlite.js'

const server = await startPostgres()
try {
  await benchStoreBesideSqlite(postgresBench(server))
} finally {
  server.stop()
}
