import { type HeaderBag, headerValue } from './headers.js'

/**
 * The one Cache-Control parser (RFC 9111 §5.2): directive names lower-cased, values unquoted (''
 * for a directive without one). A quoted value may hold commas (`private="set-cookie, x-id"`), so
 * the field is read token by token, not split on commas. A repeated field is read as its lines
 * joined (RFC 9110 §5.3); a repeated directive keeps its first value (RFC 9111 §4.2.1).
 */
export function parseCacheControl(value: string | readonly string[] | undefined): Map<string, string> {
  const directives = new Map<string, string>()
  const text = typeof value === 'string' ? value : value?.join(',')
  if (!text) return directives
  let at = 0
  while (at < text.length) {
    let end = at
    while (end < text.length && text[end] !== ',' && text[end] !== '=') end++
    const name = text.slice(at, end).trim().toLowerCase()
    let argument = ''
    at = end
    if (text[at] === '=') {
      at++
      while (text[at] === ' ' || text[at] === '\t') at++
      if (text[at] === '"') {
        // quoted-string: up to the closing quote, `\x` standing for x (RFC 9110 §5.6.4).
        at++
        while (at < text.length && text[at] !== '"') {
          if (text[at] === '\\' && at + 1 < text.length) at++
          argument += text[at]
          at++
        }
        at++
        while (at < text.length && text[at] !== ',') at++
      } else {
        end = at
        while (end < text.length && text[end] !== ',') end++
        argument = text.slice(at, end).trim()
        at = end
      }
    }
    at++ // past the comma
    if (name !== '' && !directives.has(name)) directives.set(name, argument)
  }
  return directives
}

/** The directives of a message's Cache-Control field, however its headers are held. */
export function cacheControlOf(headers: HeaderBag | undefined): Map<string, string> {
  return parseCacheControl(headerValue(headers, 'cache-control'))
}
