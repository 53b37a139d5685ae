import { availableParallelism, cpus, loadavg } from 'node:os'

export interface Row {
  group: string
  name: string
  /** Median of mitata's samples (each sample is the mean of a batch of calls), ns per operation. */
  medianNs: number
  meanNs: number
  /** The row this one is compared with (cistern's), if any. */
  versus?: Row
}

export function opsPerSecond(ns: number): number {
  return 1e9 / ns
}

function formatOps(ops: number): string {
  return Math.round(ops).toLocaleString('en-US')
}

function formatNs(ns: number): string {
  return ns >= 100 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(1)
}

/** cistern/peer as a throughput ratio: > 1 means cistern does more operations per second. */
export function ratio(row: Row): number | undefined {
  return row.versus ? row.medianNs / row.versus.medianNs : undefined
}

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| Benchmark | Library / setup | ops/s (1e9 / median) | median ns/op | mean ns/op | cistern/peer |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ]
  for (const row of rows) {
    const r = ratio(row)
    lines.push(
      `| ${row.group} | ${row.name} | ${formatOps(opsPerSecond(row.medianNs))} | ${formatNs(row.medianNs)} | ` +
        `${formatNs(row.meanNs)} | ${r === undefined ? '' : `${r.toFixed(2)}x`} |`,
    )
  }
  return lines.join('\n')
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown'
  const [one, five] = loadavg()
  return [
    `date: ${new Date().toISOString()}`,
    `node: ${process.version} (${process.platform}-${process.arch})`,
    `cpu: ${cpu}, ${availableParallelism()} cores available`,
    `load average at start: ${one?.toFixed(2)} (1m), ${five?.toFixed(2)} (5m)`,
  ].join('\n')
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`
}

export function percentOver(value: number, bound: number): string {
  const p = ((value - bound) / bound) * 100
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`
}
