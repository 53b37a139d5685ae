import type { EntryInfo } from '../model/entry.js'
import { CisternError } from '../util/errors.js'

/**
 * How values become bytes and back. The memory tier keeps the decoded value too, so a memory hit
 * never decodes; `decode` runs once per promotion from the store.
 */
export interface Codec<T> {
  encode(value: T, key: string): Uint8Array
  decode(bytes: Uint8Array, entry: EntryInfo): T
  /**
   * For codecs whose bytes are UTF-8 text (JSON): decode from a string. A store that can hand over
   * text without copying the bytes into a Buffer (SQLite) is then read that way, which saves about
   * a microsecond per 1 KB read.
   */
  decodeText?(text: string, entry: EntryInfo): T
  /** Rough in-memory cost of a decoded value whose encoding is `size` bytes, for the memory tier's bound. */
  decodedSize?(value: T, size: number): number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** JSON: the default. `undefined`, functions, BigInt and cycles are refused with E_SERIALIZE. */
export const jsonCodec: Codec<unknown> = {
  encode(value, key) {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      throw new CisternError('E_SERIALIZE', `value for key "${key}" cannot be serialized as JSON`, {
        cause: error,
      })
    }
    if (text === undefined) {
      throw new CisternError(
        'E_SERIALIZE',
        `value for key "${key}" is ${typeof value}, which JSON cannot hold`,
      )
    }
    return encoder.encode(text)
  },
  decode(bytes) {
    return JSON.parse(decoder.decode(bytes))
  },
  decodeText: (text) => JSON.parse(text),
  // A parsed JSON tree costs about 1.25x its text on top of the bytes kept beside it (measured with
  // bench/lib/memory-bound.ts for 100 B to 1 KB values).
  decodedSize: (_value, size) => Math.ceil(size * 1.25),
}

/** Bytes in, bytes out: for callers that serialize themselves (the gateway stores response bodies). */
export const bytesCodec: Codec<Uint8Array> = {
  encode(value, key) {
    if (!(value instanceof Uint8Array)) {
      throw new CisternError('E_SERIALIZE', `value for key "${key}" is not a Uint8Array`)
    }
    return value
  },
  decode: (bytes) => bytes,
  decodedSize: () => 0,
}
