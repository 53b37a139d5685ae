import { createHmac, timingSafeEqual } from 'node:crypto'

/** Request headers with lower-case names; repeated headers joined with ", " (as node:http does). */
export type HeaderMap = Readonly<Record<string, string>>

export type VerifyResult =
  | {
      ok: true
      /** The sender's own delivery id when the scheme signs one (standard-webhooks). */
      id?: string
      /** The signed timestamp, epoch ms (timestamped schemes). */
      timestamp?: number
      /** The signature that matched, as sent (a replay key of last resort). */
      signature?: string
    }
  | { ok: false; outcome: 'unauthorized' | 'expired'; reason: string }

/**
 * Checks one delivery: the exact bytes received, their headers and the current time (epoch ms).
 * Never throws for anything a sender can put in a request.
 */
export type Verifier = (raw: Buffer, headers: HeaderMap, now: number) => VerifyResult

export const refuse = (reason: string): VerifyResult => ({ ok: false, outcome: 'unauthorized', reason })

/** A timestamp header: whole seconds since the epoch, digits only (no sign, no exponent). */
export const UNIX_SECONDS = /^\d{1,12}$/

/** 32 bytes of standard base64, padding optional. */
export const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=?$/
export const HEX_SHA256 = /^[0-9a-fA-F]{64}$/

/** HMAC-SHA256 of the parts, fed in order, so a prefix never means copying the body. */
export function hmacSha256(key: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac('sha256', key)
  for (const part of parts) mac.update(part)
  return mac.digest()
}

/**
 * Whether any candidate equals any expected digest. Every pair is compared in constant time (no
 * short-circuit), so timing says nothing about which secret or how many bytes matched. Both sides
 * are 32-byte digests by construction; a length mismatch is a non-match, never a throw.
 */
export function anyMatch(expected: readonly Buffer[], candidates: readonly Buffer[]): number {
  let found = -1
  for (const digest of expected) {
    for (const [i, candidate] of candidates.entries()) {
      const equal = candidate.length === digest.length && timingSafeEqual(candidate, digest)
      if (equal && found === -1) found = i
    }
  }
  return found
}

/** Refuse timestamps further than `tolerance` ms from now, either way (clock skew cuts both ways). */
export function checkTimestamp(seconds: number, now: number, tolerance: number): VerifyResult | undefined {
  const skew = Math.abs(now - seconds * 1000)
  if (skew <= tolerance) return undefined
  return {
    ok: false,
    outcome: 'expired',
    reason: `timestamp is ${Math.round(skew / 1000)} s from now, over the ${tolerance / 1000} s tolerance`,
  }
}

/**
 * Header values are latin-1 strings in node:http (one char per byte), so latin-1 gives back the
 * exact bytes the sender signed.
 */
export const headerBytes = (value: string): Buffer => Buffer.from(value, 'latin1')
