import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'

const examples = fileURLToPath(new URL('../../examples/', import.meta.url))
const recipes = readdirSync(examples, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(`${examples}${entry.name}/run.ts`))
  .map((entry) => entry.name)

describe('examples: every recipe (a folder with run.ts)', () => {
  it('there are recipes', () => {
    expect(recipes.length).toBeGreaterThan(0)
  })

  it.each(recipes)('%s: the README starts with the one command that runs it', (name) => {
    const readme = readFileSync(`${examples}${name}/README.md`, 'utf8')
    const firstBlock = /```sh\n([^\n]*)\n/.exec(readme)?.[1]
    expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '))
    expect(firstBlock).toBe(`npm run example -- ${name}`)
  })

  it.each(recipes)('%s: cistern.yaml loads once its secrets are in the environment', (name) => {
    const text = readFileSync(`${examples}${name}/cistern.yaml`, 'utf8')
    // Every ${VAR} without a default gets a placeholder, as a team would export its own.
    const env = Object.fromEntries(
      [...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map(([, v]) => [
        v!,
        v!.endsWith('_URL') ? 'https://example.com/x' : 'x',
      ]),
    )
    expect(() => parseConfig(text, `${name}/cistern.yaml`, env)).not.toThrow()
  })
})
