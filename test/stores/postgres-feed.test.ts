import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { type SequencedRow, SequenceFeed } from '../../src/stores/postgres/feed.js'
import { eventually, postgresBin, usePostgres } from './postgres-support.js'

describe.skipIf(!postgresBin)('postgres sequence feed', () => {
  const pgs = usePostgres()

  for (const inOrder of [false, true]) {
    it(`pages past a hole still in its grace, each page after the last (inOrder: ${inOrder})`, async () => {
      const connection = pgs.connect()
      await connection.migrate()
      const table = connection.table('feed_rows')
      await connection.query('create', `CREATE TABLE ${table} (seq bigserial PRIMARY KEY)`)
      const reads: number[] = []
      const delivered: number[] = []
      const feed = new SequenceFeed<SequencedRow>({
        connection,
        channel: connection.listener.channel('feed_test'),
        read: async (after, limit) => {
          reads.push(after)
          const { rows } = await connection.query<SequencedRow>(
            'read',
            `SELECT seq FROM ${table} WHERE seq > $1 ORDER BY seq LIMIT $2`,
            [after, limit],
          )
          return rows
        },
        bounds: async () => {
          const { rows } = await connection.query<{ min: number | null; max: number | null }>(
            'bounds',
            `SELECT min(seq) AS min, max(seq) AS max FROM ${table}`,
          )
          return rows[0]!
        },
        deliver: (rows) => delivered.push(...rows.map((row) => row.seq)),
        inOrder,
        pollMs: 60_000,
      })
      await feed.start()
      // Its first read (at start, on connecting) finds nothing; only the reads after the rows count.
      await feed.idle()
      reads.length = 0
      // Seq 1 is taken by a write that has not committed (a hole, within its grace); 2..2501 commit.
      const writer = new pg.Client(pgs.server.url)
      writer.on('error', () => {})
      await writer.connect()
      await writer.query('BEGIN')
      await writer.query(`INSERT INTO ${table} DEFAULT VALUES`)
      await connection.query('fill', `INSERT INTO ${table} SELECT FROM generate_series(1, 2500)`)
      feed.poke()
      await feed.idle()
      // Three pages of new rows, and the one that finds the end: not the same page a hundred times.
      expect(reads.slice(0, 3)).toEqual([0, 1001, 2001])
      expect(reads.length).toBeLessThanOrEqual(4)
      if (!inOrder) expect(delivered).toEqual(Array.from({ length: 2500 }, (_, i) => i + 2))
      // Seq 1 commits: everything is delivered once, in order when asked to be.
      await writer.query('COMMIT')
      await writer.end()
      feed.poke()
      await feed.idle()
      expect(await eventually(() => delivered.length === 2501)).toBe(true)
      if (inOrder) expect(delivered).toEqual(Array.from({ length: 2501 }, (_, i) => i + 1))
      else expect(new Set(delivered).size).toBe(2501)
      feed.stop()
    }, 20_000)
  }
})
