import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

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
    const fence = /```(?:sh|bash|shell)\n([^\n]*)\n/.exec(readme)
    expect(fence).not.toBeNull()
    // Before any section: the first thing a reader can run.
    const firstSection = readme.indexOf('\n## ')
    expect(fence!.index).toBeLessThan(firstSection === -1 ? readme.length : firstSection)
    const firstBlock = fence![1]
    expect(firstBlock).toBe(`npm run example -- ${name}`)
  })
})
