/**
 * `promise`, or undefined once `ms` passes first (no limit when `ms` is undefined). The promise
 * itself goes on: a flight that outlives a caller's soft timeout still fills the cache.
 */
export async function softTimeout<T>(promise: Promise<T>, ms: number | undefined): Promise<T | undefined> {
  if (ms === undefined) return promise
  let timer: NodeJS.Timeout | undefined
  const elapsed = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, elapsed])
  } finally {
    clearTimeout(timer)
  }
}
