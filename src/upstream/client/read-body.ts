import type { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { CisternError } from '../../util/errors.js'

/** More codings than this on one body is not an answer anyone sends, only work for us. */
const MAX_CODINGS = 2

/** Thrown inside the pipeline to stop every stage at once; never leaves this module. */
const OVER_LIMIT = Symbol('over the size limit')

/**
 * A response body, identity-encoded, or `'too-large'` as soon as it passes `maxBytes`: the limit holds
 * for the bytes received and for the bytes they decode to (a 1 MB gzip can hold 1 GB of zeros).
 * Decoding streams, so a compressed body is never inflated past the limit: at the first chunk over it
 * every stage stops and the body is destroyed, which closes the connection.
 */
export async function readBody(
  body: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer | 'too-large'> {
  let decoders: Transform[]
  try {
    decoders = decodersFor(contentEncoding)
  } catch (error) {
    // undici's body emits 'error' when destroyed: with nobody listening, that would end the process.
    body.on('error', () => undefined)
    body.destroy()
    throw error
  }
  if (decoders.length === 0) {
    const identity = await collect(body, maxBytes)
    if (identity === OVER_LIMIT) {
      body.on('error', () => undefined)
      body.destroy()
    }
    return identity === OVER_LIMIT ? 'too-large' : identity
  }
  // `over` is set by whichever stage crossed the limit: tearing the pipeline down may surface another
  // error (a premature close) before ours. `received` counts the encoded bytes.
  const progress = { over: false, received: 0 }
  let decoded: Buffer | undefined
  try {
    await runPipeline(
      body,
      countReceived(maxBytes, progress),
      ...decoders,
      async (source: AsyncIterable<Buffer>) => {
        const result = await collect(source, maxBytes)
        if (result === OVER_LIMIT) {
          progress.over = true
          throw OVER_LIMIT
        }
        decoded = result
      },
    )
  } catch (error) {
    if (progress.over) return 'too-large'
    // No bytes at all is an empty body, not a truncated stream: a HEAD answer or a 304 that repeats
    // the Content-Encoding of the representation it stands for. Only when the decoder is what
    // complained ("unexpected end"): a transport error before the first byte stays an error.
    if (progress.received === 0 && (error as { code?: unknown }).code === 'Z_BUF_ERROR')
      return Buffer.alloc(0)
    throw error
  }
  return decoded!
}

/** stream/promises' pipeline, typed for a spread of transforms (its overloads only list fixed arities). */
const runPipeline = pipeline as (
  ...stages: Array<
    Readable | Transform | ((source: AsyncIterable<Buffer>) => AsyncIterable<Uint8Array> | Promise<void>)
  >
) => Promise<void>

/** The chunks, or OVER_LIMIT at the first one past `maxBytes` (nothing more is read). */
async function collect(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Buffer | typeof OVER_LIMIT> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of source) {
    total += chunk.byteLength
    if (total > maxBytes) return OVER_LIMIT
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/** The received (still encoded) bytes under the same limit: a stream that decodes to nothing is not free. */
function countReceived(maxBytes: number, progress: { over: boolean; received: number }) {
  return async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      progress.received += chunk.byteLength
      if (progress.received > maxBytes) {
        progress.over = true
        throw OVER_LIMIT
      }
      yield chunk
    }
  }
}

/** The codings cistern asks for and decodes (RFC 9110 §8.4.1). */
const DECODED = new Set(['gzip', 'x-gzip', 'deflate', 'br'])

function codingsOf(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
}

/**
 * Whether cistern decodes a body with this Content-Encoding. A coding it never asked for (an upstream
 * labelling its own bytes) is not cistern's to undo: the bytes are kept as sent, with their
 * Content-Encoding, as any HTTP cache keeps them (RFC 9111 §3.1).
 */
export function decodesContentEncoding(contentEncoding: string | undefined): boolean {
  return codingsOf(contentEncoding).every((coding) => DECODED.has(coding))
}

/**
 * Decoders for a Content-Encoding list, in the order to apply them (the reverse of the order the
 * codings were applied, RFC 9110 §8.4); none for a coding cistern does not decode (see
 * decodesContentEncoding).
 */
function decodersFor(contentEncoding: string | undefined): Transform[] {
  if (!decodesContentEncoding(contentEncoding)) return []
  const codings = codingsOf(contentEncoding)
  if (codings.length > MAX_CODINGS) throw unreadable(`${codings.length} content-codings`)
  return codings.reverse().map((coding) => {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return zlib.createGunzip()
      case 'deflate':
        return zlib.createInflate()
      case 'br':
        return zlib.createBrotliDecompress()
      default:
        throw unreadable(`unsupported content-encoding "${coding.slice(0, 40)}"`)
    }
  })
}

/** The upstream's fault, not the network's: classified as a bad response, never as a transport error. */
function unreadable(message: string): CisternError {
  return new CisternError('E_UPSTREAM_BAD_RESPONSE', message)
}
