import type { IncomingMessage } from 'node:http'

/**
 * A client request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before reading anything; a chunked body is refused as soon as it crosses the limit.
 */
export async function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return 'too-large'
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength
    if (total > limit) return 'too-large'
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total)
}
