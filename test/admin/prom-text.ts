/** A strict reader of the Prometheus text exposition format (0.0.4), for tests. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  types: Map<string, string>
  samples: Sample[]
  /** Samples of one name whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[]
  /** The sum of those samples' values. */
  sum(name: string, labels?: Record<string, string>): number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`)
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created']

/** Throws on any line that is not valid exposition text, or a sample of an undeclared family. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`
    if (line === '') continue
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME} .*$`).test(line)) throw new Error(`bad HELP, ${where}`)
      continue
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      if (!name || !type || !TYPES.has(type)) throw new Error(`bad TYPE, ${where}`)
      types.set(name, type)
      continue
    }
    if (line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`bad sample, ${where}`)
    const [, name, rawLabels, rawValue] = match
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
    const special = rawValue!.toLowerCase()
    const value =
      special === '+inf' || special === 'inf' ? Infinity : special === '-inf' ? -Infinity : Number(rawValue)
    if (Number.isNaN(value) && special !== 'nan') throw new Error(`bad value, ${where}`)
    const family = types.has(name!)
      ? name!
      : SUFFIXES.map((s) => name!.slice(0, -s.length)).find(
          (base, i) => name!.endsWith(SUFFIXES[i]!) && types.has(base),
        )
    if (family === undefined) throw new Error(`sample of an undeclared family, ${where}`)
    samples.push({ name: name!, labels: parseLabels(rawLabels ?? '', where), value })
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return { types, samples, find, sum: (name, labels) => find(name, labels).reduce((n, s) => n + s.value, 0) }
}

function parseLabels(raw: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < raw.length) {
    const match = LABEL.exec(raw)
    if (!match) throw new Error(`bad labels, ${where}`)
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}
