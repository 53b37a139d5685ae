/** Checks the hard ceiling on recorded grant times: for every window [a, b], grants <= rate × (b − a) + burst. */
export interface CeilingRate {
  count: number
  perMs: number
  burst: number
}

/** The first violation found, or undefined. Windows that matter start and end on grants. */
export function ceilingViolation(
  times: readonly number[],
  rates: readonly CeilingRate[],
): string | undefined {
  const sorted = [...times].sort((a, b) => a - b)
  for (const rate of rates) {
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i; j < sorted.length; j++) {
        const grants = j - i + 1
        const width = sorted[j]! - sorted[i]!
        // grants <= count × width / perMs + burst, kept in integers: (grants − burst) × perMs <= count × width
        if ((grants - rate.burst) * rate.perMs > rate.count * width) {
          return `${grants} grants in [${sorted[i]}, ${sorted[j]}] over ${rate.count}/${rate.perMs}ms burst ${rate.burst}`
        }
      }
    }
  }
  return undefined
}
