import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configJsonSchema, configJsonSchemaText } from '../../src/config/index.js'

const FILE = fileURLToPath(new URL('../../schema/cistern.schema.json', import.meta.url))

describe('schema/cistern.schema.json', () => {
  // `npm run schema` runs this file with CISTERN_WRITE_SCHEMA=1 to regenerate it.
  if (process.env.CISTERN_WRITE_SCHEMA === '1') {
    it('is written', () => {
      writeFileSync(FILE, configJsonSchemaText())
    })
    return
  }

  it('is up to date with the zod schema (run `npm run schema` after changing src/config/schema)', () => {
    const committed = readFileSync(FILE, 'utf8')
    expect(
      committed === configJsonSchemaText(),
      'schema/cistern.schema.json is stale: run `npm run schema`',
    ).toBe(true)
  })

  it('describes the keys people write, with their defaults', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, { default?: unknown }> }>
      additionalProperties: boolean
    }
    expect(schema.additionalProperties).toBe(false)
    expect(Object.keys(schema.properties)).toEqual([
      'listen',
      'admin',
      'store',
      'limits',
      'server',
      'log',
      'refreshDefaults',
      'feed',
      'upstreams',
      'routes',
      'webhooks',
      'notify',
    ])
    expect(schema.properties.store?.properties?.kind?.default).toBe('sqlite')
    expect(schema.properties.store?.properties?.memory?.default).toBe('64MB')
  })
})

describe('docs/configuration.md', () => {
  it('documents every key of the schema', () => {
    const docs = readFileSync(fileURLToPath(new URL('../../docs/configuration.md', import.meta.url)), 'utf8')
    const keys = new Set<string>()
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) collect(item)
        return
      }
      if (node === null || typeof node !== 'object') return
      for (const [key, value] of Object.entries(node)) {
        if (key === 'properties' && value && typeof value === 'object') {
          for (const name of Object.keys(value)) keys.add(name)
        }
        collect(value)
      }
    }
    collect(configJsonSchema())
    const missing = [...keys].filter((key) => !docs.includes(`\`${key}\``))
    expect(missing).toEqual([])
  })
})
