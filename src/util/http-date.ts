/**
 * The one home of HTTP-dates (RFC 9110 §5.6.7): cistern writes IMF-fixdate only, and reads all three
 * forms recipients must accept (IMF-fixdate, obsolete RFC 850, asctime). Anything else is not a date:
 * Date.parse would guess ("1" is the year 2001, "2024-01-01" an ISO date no HTTP peer sends), and a
 * guessed If-Modified-Since or Retry-After is worse than none.
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

/**
 * An HTTP-date as epoch ms, or undefined when it is not one. `now` resolves RFC 850's 2-digit years.
 * Surrounding whitespace is not part of a field value (RFC 9110 §5.5) and is ignored.
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const text = value.trim()
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

/** A time as IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form a sender may write. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString()
}

/** An HTTP-date formatter that remembers its last answer: consecutive calls mostly repeat a value. */
export function memoizedHttpDate(): (ms: number) => string {
  let lastMs = Number.NaN
  let lastText = ''
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms
      lastText = formatHttpDate(ms)
    }
    return lastText
  }
}

/** HTTP-date strings for X-Cache-Fetched-At (most hits share one fetchedAt). */
export const httpDate = memoizedHttpDate()

const thisSecond = memoizedHttpDate()
/** The Date header value for now, formatted once per second (as node:http does for its own). */
export function currentHttpDate(): string {
  return thisSecond(Math.floor(Date.now() / 1000) * 1000)
}
