import { createHash } from 'node:crypto'
import pg from 'pg'
import { StoreError } from '../../util/errors.js'
import { quoteIdent } from './identifier.js'
import { Listener } from './listener.js'
import { MIGRATIONS } from './schema.js'

export interface PostgresConnectionOptions {
  /** postgres:// or postgresql:// URL. Ignored when `pool` is given. */
  url?: string
  /** A pool the caller owns (shared with the app): used, never closed here. */
  pool?: pg.Pool
  /**
   * The schema cistern's tables live in (default 'cistern'; `store.namespace`), so several deployments
   * share one database. Created when missing.
   */
  namespace?: string
  /** Deadline of every query (default 1000 ms), from asking the pool to the last row. */
  timeoutMs?: number
  /** Connections in the pool this connection opens (default 10). */
  maxConnections?: number
}

/** Consecutive failures (server unreachable or too slow) that open the breaker. */
const TRIP_AFTER = 2
/** While open, the server is probed this often (doubling up to the second) until it answers. */
const PROBE_FIRST_MS = 100
const PROBE_MAX_MS = 1000
/** Migrations may rewrite tables: they get longer than a request's query. */
const MIGRATION_TIMEOUT_MS = 60_000
const NAME = 'postgres'

/**
 * node-postgres returns int8 (sequence values, fences, counts) as strings, since they may exceed 2^53;
 * cistern's never do, so they come back as numbers. Passed with every query, which also works on a
 * pool the caller configured otherwise.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as never,
}

/**
 * The one Postgres connection for the store and every coordination part, with the rules they all
 * follow (coordination.ts): every query has a deadline and goes through a breaker, nothing waits for
 * a server that does not answer, and every table lives under one schema (`table()`).
 *
 * The breaker opens after TRIP_AFTER consecutive failures that say the server is away (a timeout, a
 * refused or broken connection, a shutdown), not after SQL errors. While open, calls fail at once with
 * a StoreError and healthy() is false; a probe (SELECT 1) runs in the background, and its first answer
 * closes the breaker again: recovery needs no caller and no restart.
 *
 * The schema is brought up to date before the first query (and again after a failure to do so, e.g.
 * the server was down at start), inside one transaction holding an advisory lock, so two instances
 * starting together migrate once: the second waits for the lock, then finds the work done.
 */
export class PostgresConnection {
  readonly pool: pg.Pool
  /** The schema as given (`store.namespace`). */
  readonly namespace: string
  /** The schema as an SQL identifier, quoted. */
  readonly schema: string
  readonly timeoutMs: number
  readonly #owned: boolean
  readonly #names = new Map<string, string>()
  #failures = 0
  #open = false
  #probe: NodeJS.Timeout | undefined
  #probeDelay = PROBE_FIRST_MS
  #migrated = false
  #migrating: Promise<void> | undefined
  #listener: Listener | undefined
  readonly #onRecover = new Set<() => void>()
  #closed = false

  constructor(options: PostgresConnectionOptions) {
    this.namespace = options.namespace ?? 'cistern'
    this.schema = quoteIdent(this.namespace)
    this.timeoutMs = options.timeoutMs ?? 1000
    if (options.pool) {
      this.pool = options.pool
      this.#owned = false
    } else {
      if (!options.url) throw new StoreError(NAME, 'open', 'store.url is required for kind postgres')
      this.pool = new pg.Pool({
        connectionString: options.url,
        max: options.maxConnections ?? 10,
        // Opening a connection (TCP, auth, a backend forked) may take longer than a query on a busy
        // host; a query's own deadline still bounds what a caller waits (see #withClient).
        connectionTimeoutMillis: Math.max(this.timeoutMs, 1000),
        // The server gives up on a statement too, so a query past its deadline does not run on.
        statement_timeout: this.timeoutMs,
        idle_in_transaction_session_timeout: Math.max(this.timeoutMs * 10, 10_000),
        keepAlive: true,
        application_name: 'cistern',
        // A cache can lose its last few milliseconds of writes in a server crash; it need not wait for
        // the WAL to reach the disk on every commit (set per connection; the server's default is untouched).
        options: '-c synchronous_commit=off',
      })
      this.#owned = true
    }
    // A pooled client that loses its server while idle emits 'error'; unhandled, it would end the process.
    this.pool.on('error', () => {})
    this.pool.on('connect', (client) => client.on('error', () => {}))
  }

  /** `name` in cistern's schema, quoted: `"cistern"."entries"`. */
  table(name: string): string {
    return `${this.schema}.${quoteIdent(name)}`
  }

  /** False while the breaker is open: the server did not answer the last calls. */
  healthy(): boolean {
    return !this.#open && !this.#closed
  }

  /** Told each time the breaker closes again (the server answers after an outage). Returns an unsubscribe. */
  onRecover(listener: () => void): () => void {
    this.#onRecover.add(listener)
    return () => this.#onRecover.delete(listener)
  }

  /**
   * Runs one statement with the deadline, through the breaker, once the schema is up to date.
   * Statements are prepared once per pooled connection (named by their text). Rejects with a
   * StoreError: E_STORE_TIMEOUT past the deadline or when the server is away (see serverAway),
   * E_STORE otherwise (the statement was wrong).
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: string,
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new StoreError(NAME, operation, 'store is closed', 'E_CLOSED')
    if (this.#open)
      throw new StoreError(NAME, operation, 'server unreachable (breaker open)', 'E_STORE_TIMEOUT')
    if (!this.#migrated) await this.migrate(operation)
    return this.#run<R>(operation, { name: this.#nameOf(text), text, values, types: TYPES }, this.timeoutMs)
  }

  /** The schema up to date (idempotent; concurrent callers share one attempt). */
  migrate(operation = 'migrate'): Promise<void> {
    if (this.#migrated) return Promise.resolve()
    this.#migrating ??= this.#transaction(operation, MIGRATION_TIMEOUT_MS, async (client) => {
      // The pool's statement_timeout is a request's deadline; the server would cancel the lock wait
      // below (a peer migrating) and the migration itself at that deadline, not at this one.
      await client.query(`SET LOCAL statement_timeout = ${MIGRATION_TIMEOUT_MS}`)
      // Unlike a cache write, a schema change must not be lost in a server crash after this process
      // took it as done (it would then run queries against tables the restarted server never had).
      await client.query('SET LOCAL synchronous_commit = on')
      // One lock per schema, held to the end of the transaction: works through transaction poolers,
      // where a session lock could outlive (or be released by) another client.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cistern migrate ${this.namespace}`])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table('schema_version')} (version integer NOT NULL)`,
      )
      const found = await client.query<{ version: number }>(
        `SELECT version FROM ${this.table('schema_version')}`,
      )
      const version = found.rows[0]?.version ?? 0
      if (version > MIGRATIONS.length) {
        throw new StoreError(
          NAME,
          operation,
          `schema ${this.namespace} was written by a newer cistern (schema ${version}; this one knows up to ${MIGRATIONS.length})`,
          'E_STORE_OPEN',
        )
      }
      for (let next = version + 1; next <= MIGRATIONS.length; next++) {
        await client.query(MIGRATIONS[next - 1]!(this.schema))
      }
      if (found.rows.length === 0) {
        await client.query(`INSERT INTO ${this.table('schema_version')} (version) VALUES ($1)`, [
          MIGRATIONS.length,
        ])
      } else if (version !== MIGRATIONS.length) {
        await client.query(`UPDATE ${this.table('schema_version')} SET version = $1`, [MIGRATIONS.length])
      }
    }).then(
      () => {
        this.#migrated = true
      },
      (error: unknown) => {
        // Tried again by the next call: the server may simply not have been up yet.
        this.#migrating = undefined
        throw error
      },
    )
    return this.#migrating
  }

  /** The one LISTEN connection every part shares (bus, lease releases, change log), made on first use. */
  get listener(): Listener {
    this.#listener ??= new Listener(this)
    return this.#listener
  }

  /** A new client (not from the pool) with the pool's settings: for LISTEN, which holds its connection. */
  newClient(): pg.Client {
    return new pg.Client({ ...this.pool.options, application_name: 'cistern-listen' })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#probe)
    await this.#listener?.close()
    if (this.#owned) await this.pool.end().catch(() => {})
  }

  #nameOf(text: string): string {
    let name = this.#names.get(text)
    if (name === undefined) {
      name = `cistern_${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`
      this.#names.set(text, name)
    }
    return name
  }

  /**
   * One query on a client of its own, bounded by `timeoutMs` from asking the pool. Past the deadline
   * the client is destroyed (its query may still be running on a frozen server) and the call rejects.
   */
  #run<R extends pg.QueryResultRow>(
    operation: string,
    query: pg.QueryConfig,
    timeoutMs: number,
  ): Promise<pg.QueryResult<R>> {
    return this.#withClient(operation, timeoutMs, (client) => client.query<R>(query))
  }

  #transaction(
    operation: string,
    timeoutMs: number,
    body: (client: pg.PoolClient) => Promise<void>,
  ): Promise<void> {
    return this.#withClient(operation, timeoutMs, async (client) => {
      await client.query('BEGIN')
      try {
        await body(client)
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      }
    })
  }

  #withClient<T>(
    operation: string,
    timeoutMs: number,
    body: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let client: pg.PoolClient | undefined
      let done = false
      const timer = setTimeout(() => {
        done = true
        client?.release(new Error('deadline passed'))
        this.#failed()
        reject(new StoreError(NAME, operation, `no answer within ${timeoutMs}ms`, 'E_STORE_TIMEOUT'))
      }, timeoutMs)
      this.pool.connect().then(
        async (connected) => {
          if (done) {
            connected.release()
            return
          }
          client = connected
          try {
            const result = await body(connected)
            if (done) return
            done = true
            clearTimeout(timer)
            connected.release()
            this.#succeeded()
            resolve(result)
          } catch (error) {
            if (done) return
            done = true
            clearTimeout(timer)
            const away = serverAway(error)
            connected.release(away ? (error as Error) : undefined)
            if (away) this.#failed()
            else this.#succeeded()
            // A server away (shut down, connection dropped, statement cancelled at the deadline) is an
            // outage like a refused connection, so callers that ride out outages (start()) treat it alike.
            reject(
              error instanceof StoreError
                ? error
                : new StoreError(NAME, operation, error, away ? 'E_STORE_TIMEOUT' : 'E_STORE'),
            )
          }
        },
        (error: unknown) => {
          if (done) return
          done = true
          clearTimeout(timer)
          this.#failed()
          reject(new StoreError(NAME, operation, error, 'E_STORE_TIMEOUT'))
        },
      )
    })
  }

  #succeeded(): void {
    this.#failures = 0
  }

  #failed(): void {
    this.#failures++
    if (this.#open || this.#closed || this.#failures < TRIP_AFTER) return
    this.#open = true
    this.#probeDelay = PROBE_FIRST_MS
    this.#scheduleProbe()
  }

  #scheduleProbe(): void {
    this.#probe = setTimeout(() => {
      this.#run('probe', { text: 'SELECT 1' }, this.timeoutMs).then(
        () => {
          if (this.#closed) return
          this.#open = false
          this.#failures = 0
          for (const listener of this.#onRecover) listener()
        },
        () => {
          if (this.#closed) return
          this.#probeDelay = Math.min(this.#probeDelay * 2, PROBE_MAX_MS)
          this.#scheduleProbe()
        },
      )
    }, this.#probeDelay)
    // A probe must never keep a process alive.
    this.#probe.unref()
  }
}

/**
 * Whether an error says the server is away (counts towards the breaker) rather than that a statement
 * was wrong: anything without an SQLSTATE (a socket error, a timeout), connection exceptions (08),
 * insufficient resources (53: too many connections), operator intervention (57: shutdown, cancel by
 * statement_timeout) and a server in recovery.
 */
function serverAway(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('57')
}
