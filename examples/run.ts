#!/usr/bin/env node
/**
 * `npm run example -- <name>`: runs examples/<name>/run.ts (built to dist/examples/<name>/run.js), one of
 * the seed teams' recipes: a simulated upstream with that API's shape, and cistern in front of it on the
 * recipe's cistern.yaml. Without a name (or with an unknown one) it lists the recipes.
 */
import { readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

/** The folders beside this file that hold a built run.js: the recipes that can run. */
function recipes(): string[] {
  return readdirSync(here, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) => {
      try {
        return statSync(new URL(`./${name}/run.js`, import.meta.url)).isFile()
      } catch {
        return false
      }
    })
    .sort()
}

const name = process.argv[2]
const known = recipes()
if (name === undefined || !known.includes(name)) {
  const why = name === undefined ? 'which example?' : `no example named ${JSON.stringify(name)}`
  console.error(`${why} Usage: npm run example -- <name>\nExamples: ${known.join(', ') || '(none built)'}`)
  process.exit(name === undefined ? 0 : 1)
}
// The name is one of the folders listed above, so only a recipe's own run.js is ever imported. Importing
// it starts nothing (the tests import the same modules); its `main` starts the recipe and prints what to try.
const recipe: { main: () => Promise<void> } = await import(new URL(`./${name}/run.js`, import.meta.url).href)
await recipe.main()
