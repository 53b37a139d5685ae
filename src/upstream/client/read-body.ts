import { promisify } from 'node:util'
import zlib from 'node:zlib'

const gunzip = promisify(zlib.gunzip)
const inflate = promisify(zlib.inflate)
const brotliDecompress = promisify(zlib.brotliDecompress)

/** Collect a response body, refusing more than `maxBytes` (the stream is destroyed at the limit). */
export async function readLimited(body: AsyncIterable<Uint8Array> & { destroy(): void }, maxBytes: number) {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > maxBytes) {
      body.destroy()
      return undefined
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/** Undo the upstream's content-encoding so stored bodies are identity (digests, diffs, JSON checks). */
export async function decodeBody(
  body: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  if (!encoding || encoding === 'identity') return body
  const options = { maxOutputLength: maxBytes }
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzip(body, options)
    case 'deflate':
      return inflate(body, options)
    case 'br':
      return brotliDecompress(body, options)
    default:
      throw new Error(`unsupported content-encoding "${encoding}"`)
  }
}
