/** /bytes/:n (a deterministic JSON body of exactly n bytes) and /echo (what reached the upstream). */
import type { IncomingHttpHeaders } from 'node:http'
import { createRng } from './prng.js'
import { etagOf, type Prepared } from './respond.js'

export const MAX_BYTES = 32 * 1024 * 1024
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const memo = new Map<number, Prepared>()
/** /bytes bodies never change: a fixed Last-Modified keeps them deterministic. */
const BYTES_LAST_MODIFIED = Date.UTC(2024, 0, 1)

/**
 * A JSON body of exactly n bytes for n >= 24 (`{"n":N,"data":"..."}`, padded with deterministic
 * pseudo-random characters so that compression is realistic), a minimal object for smaller n.
 */
export function bytesBody(n: number): Prepared {
  const cached = memo.get(n)
  if (cached) return cached
  const head = `{"n":${n},"data":"`
  const tail = '"}'
  const padLength = Math.max(0, n - head.length - tail.length)
  const rng = createRng(n)
  const pad = Buffer.alloc(padLength)
  for (let i = 0; i < padLength; i++) pad[i] = ALPHABET.charCodeAt(Math.floor(rng.next() * ALPHABET.length))
  const body = Buffer.concat([Buffer.from(head), pad, Buffer.from(tail)])
  const prepared: Prepared = {
    status: 200,
    body,
    etag: etagOf(body),
    lastModifiedMs: BYTES_LAST_MODIFIED,
    tags: ['bytes', `bytes:${n}`],
    contentType: 'application/json; charset=utf-8',
  }
  if (memo.size >= 64) memo.delete(memo.keys().next().value as number)
  memo.set(n, prepared)
  return prepared
}

export function echoBody(
  method: string,
  url: URL,
  headers: IncomingHttpHeaders,
  body: string,
  remote: { address?: string | undefined; port?: number | undefined },
) {
  const query: Record<string, string | string[]> = {}
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key)
    query[key] = all.length === 1 ? (all[0] ?? '') : all
  }
  return {
    method,
    path: url.pathname,
    rawQuery: url.search,
    query,
    headers,
    body,
    remoteAddress: remote.address ?? null,
    remotePort: remote.port ?? null,
  }
}
