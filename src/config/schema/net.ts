import { z } from 'zod'
import { expected } from './common.js'

/** A resolved listen address. */
export interface ListenAddress {
  host: string
  port: number
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const IPV6 = /^[0-9A-Fa-f:.]+$/

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:0`; undefined when malformed. */
export function parseListen(input: string): ListenAddress | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(input)
  const plain = bracketed ? null : /^([^:[\]]+):(\d{1,5})$/.exec(input)
  const match = bracketed ?? plain
  if (!match) return undefined
  const host = match[1]!
  const port = Number(match[2])
  if (port > 65535) return undefined
  if (bracketed ? !IPV6.test(host) : !HOSTNAME.test(host)) return undefined
  return { host, port }
}

/** Loopback addresses: the only ones where the admin listener may run without a token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** `host:port`, or a bare port number (then on 127.0.0.1). */
export function listen(description: string) {
  const text = z.string().transform((value, ctx): ListenAddress => {
    const parsed = parseListen(value)
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(value)} is not a listen address (expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)`,
        input: value,
      })
      return z.NEVER
    }
    return parsed
  })
  const port = z
    .number()
    .int()
    .min(0)
    .max(65535)
    .transform((value): ListenAddress => ({ host: '127.0.0.1', port: value }))
  return z.union([text, port], { error: expected('host:port, e.g. 127.0.0.1:8080') }).meta({ description })
}

export interface UrlRules {
  /** Allow a query string (webhook targets may carry one; upstream bases may not). */
  query: boolean
}

/**
 * An absolute http(s) URL without credentials or fragment. Upstream bases also refuse a query and
 * come out without a trailing slash, so `base + to` never doubles or drops a slash.
 */
export function httpUrl(description: string, rules: UrlRules) {
  return z
    .string()
    .transform((value, ctx) => {
      const fail = (why: string) => {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${why}`, input: value })
        return z.NEVER
      }
      // `api.example.com/v1` or `localhost:8080`: the scheme is missing (the second even parses, as
      // scheme "localhost:"); say what to add rather than only that it is wrong.
      const noScheme = !value.includes('://') && !/^\s*$/.test(value)
      const addScheme = `add https:// (https://${value.replace(/^\/+/, '')})`
      let url: URL
      try {
        url = new URL(value)
      } catch {
        if (noScheme) return fail(`has no scheme: ${addScheme}`)
        return fail('is not a URL (expected e.g. https://api.example.com/v1)')
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return fail(noScheme ? `has no scheme: ${addScheme}` : 'must be an http or https URL')
      }
      if (url.username || url.password) return fail('must not contain credentials (use auth: instead)')
      if (url.hash || value.includes('#')) return fail('must not contain a fragment (#...)')
      if (!rules.query && (url.search || value.includes('?'))) {
        return fail('must not contain a query string (use auth: query for keys)')
      }
      if (rules.query) return url.href
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
    })
    .meta({ description })
}
