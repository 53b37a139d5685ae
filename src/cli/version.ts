import { readFileSync } from 'node:fs'

/** The package version, read once from package.json beside dist/. */
export const VERSION: string = (() => {
  for (const candidate of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'cistern' && pkg.version) return pkg.version
    } catch {
      // try the next layout (dist/src/cli vs src/cli)
    }
  }
  return '0.0.0'
})()
