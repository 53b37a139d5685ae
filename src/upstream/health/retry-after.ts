/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Recipients must accept all three
 * date forms (IMF-fixdate, obsolete RFC 850, asctime); anything else is garbage and yields undefined,
 * never a guess (Date.parse would read "1" as the year 2001).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
// Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const monthIndex = MONTHS.indexOf(month)
  if (h > 23 || m > 59 || s > 60 || day < 1) return undefined
  const ms = Date.UTC(year, monthIndex, day, h, m, Math.min(s, 59))
  // Reject 31 Feb and friends: Date.UTC would roll them over into the next month.
  if (new Date(ms).getUTCDate() !== day) return undefined
  return ms
}

/** An HTTP-date as epoch ms, or undefined when it is not one. `now` resolves RFC 850's 2-digit years. */
export function parseHttpDate(text: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(text)
  if (match) {
    const [, d, mon, y, h, m, s] = match
    return utc(Number(y), mon!, Number(d), Number(h), Number(m), Number(s))
  }
  match = RFC_850.exec(text)
  if (match) {
    const [, d, mon, yy, h, m, s] = match
    // A two-digit year more than 50 years in the future is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(yy)
    if (year > thisYear + 50) year -= 100
    return utc(year, mon!, Number(d), Number(h), Number(m), Number(s))
  }
  match = ASCTIME.exec(text)
  if (match) {
    const [, mon, d, h, m, s, y] = match
    return utc(Number(y), mon!, Number(d!.trim()), Number(h), Number(m), Number(s))
  }
  return undefined
}

/**
 * How long the upstream asks us to wait, in ms (0 for a date in the past), or undefined when the
 * header is absent or not a valid Retry-After. With several values, the first counts.
 */
export function parseRetryAfter(
  header: string | readonly string[] | null | undefined,
  now: number,
): number | undefined {
  const raw = typeof header === 'string' ? header : header?.[0]
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000
    return Number.isFinite(ms) ? Math.min(ms, Number.MAX_SAFE_INTEGER) : undefined
  }
  const at = parseHttpDate(text, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}
