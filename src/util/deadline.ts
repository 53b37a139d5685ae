/**
 * The one way cistern runs something against a deadline. `work` settles the result when it comes
 * first; once `ms` passes first, `onDeadline` decides: return a fallback (a soft timeout answers
 * without the work, a drain simply stops waiting) or throw (a hard timeout fails the caller; abort
 * the work there if it can be stopped). The work is never cancelled here: a fetch that outlives its
 * caller may still fill the cache. No deadline when `ms` is undefined. The timer is cleared either
 * way; `unref` lets the process exit while only this timer is pending.
 */
export function withDeadline<T, F>(
  work: Promise<T>,
  ms: number | undefined,
  onDeadline: () => F | PromiseLike<F>,
  options: { unref?: boolean } = {},
): Promise<T | F> {
  if (ms === undefined) return work
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<F>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onDeadline())
      } catch (error) {
        reject(error)
      }
    }, ms)
    if (options.unref) timer.unref()
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

/**
 * `work`, or a rejection once `ms` passes: for reads that must never hang a request (admin store
 * reads). Callers that would rather answer without the result use withDeadline with a fallback.
 */
export function rejectAfter<T>(work: Promise<T>, ms: number): Promise<T> {
  return withDeadline(
    work,
    ms,
    () => {
      throw new Error(`no answer within ${ms}ms`)
    },
    { unref: true },
  )
}
