/** Plain-text rendering for the CLI: aligned tables and human units. */

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  // Numbers read best right-aligned; the first column (names) left-aligned.
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let amount = value
  let unit = 0
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024
    unit++
  }
  return `${unit === 0 ? amount : amount.toFixed(1)} ${units[unit]}`
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value)
}

export function seconds(value: number): string {
  if (value < 120) return `${value}s`
  if (value < 7200) return `${Math.round(value / 60)}m`
  if (value < 172_800) return `${Math.round(value / 3600)}h`
  return `${Math.round(value / 86_400)}d`
}

/** `key: value` lines, keys aligned. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([key]) => key.length))
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`).join('\n')
}
