/**
 * The tables cistern keeps in its Postgres schema, as one list of versioned migrations: migration n
 * takes the schema from version n-1 to n (the `schema_version` table holds n). Append only, as for
 * the SQLite files (util/sqlite/schema.ts): a shipped migration never changes, because databases in
 * the field already ran it. Each is a function of the quoted schema name, which it prefixes to every
 * object it creates, so several deployments share one database under different `store.namespace`s.
 *
 * Times are milliseconds since the epoch as float8 (exact to 2^53, and Infinity fits); times the
 * instances share come from the server (`now_ms()` on clock_timestamp()), never from an instance.
 *
 * Migration 1, the store:
 * - `entries`: one row per entry, the value last (bytea, TOASTed out of line when large, so
 *   metadata scans do not read it). `key` sorts by code point (COLLATE "C"), so its primary key
 *   index answers prefix ranges and pages in key order. Tags are a text[] with a GIN index (`&&`,
 *   `@>`), so a row and its tags change in one statement. `version` is the fence a write carried
 *   (or a fresh one from `versions`): a write with an older one is dropped. `accessed_at` is the
 *   write time, moved forward by reads at most once a minute per entry (see store.ts), for LRU.
 * - `counters`: entry and byte totals in 16 shards (a connection updates the shard of its backend
 *   pid), kept by statement triggers, so stats() and the size bound cost no scan and concurrent
 *   writers do not queue on one row.
 *
 * Migration 2, coordination between instances (coordination.ts): the invalidation bus, leases,
 * the shared ceiling (GCRA in one function on the server's clock), heartbeats, refresh claims and
 * what refreshes saw, the shared change log and the act-once registry. Leases take their fences from
 * `versions` too, so a fenced write and an unfenced one are ordered against each other.
 */
export const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (s) => `
  CREATE SEQUENCE ${s}.versions;
  CREATE TABLE ${s}.entries (
    key text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    stored_at float8 NOT NULL,
    fetched_at float8 NOT NULL,
    fresh_until float8 NOT NULL,
    stale_until float8 NOT NULL,
    expires_at float8 NOT NULL,
    accessed_at float8 NOT NULL,
    etag text,
    last_modified text,
    digest text NOT NULL,
    tags text[] NOT NULL,
    size integer NOT NULL,
    meta text,
    value bytea NOT NULL
  );
  CREATE INDEX entries_expires_at ON ${s}.entries (expires_at);
  CREATE INDEX entries_accessed_at ON ${s}.entries (accessed_at);
  CREATE INDEX entries_tags ON ${s}.entries USING gin (tags);

  CREATE TABLE ${s}.counters (
    shard integer PRIMARY KEY,
    entries bigint NOT NULL,
    bytes bigint NOT NULL
  );
  INSERT INTO ${s}.counters (shard, entries, bytes) SELECT g, 0, 0 FROM generate_series(0, 15) g;

  CREATE FUNCTION ${s}.count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE ${s}.counters c SET entries = c.entries + d.n, bytes = c.bytes + d.b
      FROM (SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM inserted) d
      WHERE c.shard = pg_backend_pid() % 16 AND d.n > 0;
    RETURN NULL;
  END $$;
  CREATE FUNCTION ${s}.count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE ${s}.counters c SET bytes = c.bytes + d.b
      FROM (SELECT (SELECT coalesce(sum(size), 0) FROM after_rows)
                 - (SELECT coalesce(sum(size), 0) FROM before_rows) AS b) d
      WHERE c.shard = pg_backend_pid() % 16 AND d.b <> 0;
    RETURN NULL;
  END $$;
  CREATE FUNCTION ${s}.count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE ${s}.counters c SET entries = c.entries - d.n, bytes = c.bytes - d.b
      FROM (SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM deleted) d
      WHERE c.shard = pg_backend_pid() % 16 AND d.n > 0;
    RETURN NULL;
  END $$;
  CREATE TRIGGER entries_inserted AFTER INSERT ON ${s}.entries REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_inserted();
  CREATE TRIGGER entries_updated AFTER UPDATE ON ${s}.entries
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_updated();
  CREATE TRIGGER entries_deleted AFTER DELETE ON ${s}.entries REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_deleted();
  `,
  (s) => `
  CREATE FUNCTION ${s}.now_ms() RETURNS float8 LANGUAGE sql VOLATILE
    AS $$ SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 $$;

  CREATE TABLE ${s}.bus (
    seq bigserial PRIMARY KEY,
    instance text NOT NULL,
    at float8 NOT NULL,
    soft boolean NOT NULL,
    selector text NOT NULL
  );

  CREATE TABLE ${s}.leases (
    key text PRIMARY KEY,
    token text NOT NULL,
    fence bigint NOT NULL,
    expires_at float8 NOT NULL
  );

  CREATE TABLE ${s}.ceiling (
    bucket text PRIMARY KEY,
    tat float8 NOT NULL DEFAULT 0,
    paused_until float8 NOT NULL DEFAULT 0,
    pause_reason text
  );
  -- GCRA: a permit is granted when the theoretical arrival time, moved on by one interval, stays
  -- within burst intervals of now; the background lane stops \`reserve\` intervals short of that.
  CREATE FUNCTION ${s}.ceiling_take(p_bucket text, p_interval float8, p_burst integer,
      p_reserve integer, p_background boolean)
    RETURNS TABLE (granted boolean, retry_ms float8, paused_for text)
    LANGUAGE plpgsql AS $$
  DECLARE
    now_ms float8 := ${s}.now_ms();
    b ${s}.ceiling%ROWTYPE;
    next_tat float8;
    allowance float8;
  BEGIN
    SELECT * INTO b FROM ${s}.ceiling WHERE bucket = p_bucket FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO ${s}.ceiling (bucket) VALUES (p_bucket) ON CONFLICT (bucket) DO NOTHING;
      SELECT * INTO b FROM ${s}.ceiling WHERE bucket = p_bucket FOR UPDATE;
    END IF;
    IF b.paused_until > now_ms THEN
      RETURN QUERY SELECT false, b.paused_until - now_ms, b.pause_reason;
      RETURN;
    END IF;
    next_tat := greatest(b.tat, now_ms) + p_interval;
    allowance := p_interval * greatest(p_burst - CASE WHEN p_background THEN p_reserve ELSE 0 END, 0);
    IF next_tat - now_ms > allowance THEN
      RETURN QUERY SELECT false, next_tat - now_ms - allowance, NULL::text;
      RETURN;
    END IF;
    UPDATE ${s}.ceiling SET tat = next_tat WHERE bucket = p_bucket;
    RETURN QUERY SELECT true, 0::float8, NULL::text;
  END $$;

  CREATE TABLE ${s}.instances (
    id text PRIMARY KEY,
    seen_at float8 NOT NULL
  );

  CREATE TABLE ${s}.refresh_claims (
    key text PRIMARY KEY,
    state text NOT NULL,
    token text,
    until float8 NOT NULL
  );
  CREATE TABLE ${s}.refresh_seen (
    key text PRIMARY KEY,
    digest text NOT NULL,
    fetched_at float8 NOT NULL,
    headers text NOT NULL,
    body bytea
  );

  CREATE TABLE ${s}.changes (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    route text NOT NULL,
    json text NOT NULL
  );

  CREATE TABLE ${s}.once (
    scope text NOT NULL,
    id text NOT NULL,
    expires_at float8 NOT NULL,
    PRIMARY KEY (scope, id)
  );
  CREATE INDEX once_expires_at ON ${s}.once (expires_at);
  `,
]
