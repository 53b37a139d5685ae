import { z } from 'zod'
import { configSchema } from './schema/root.js'

export const SCHEMA_ID = 'https://github.com/cistern/cistern/schema/cistern.schema.json'

/**
 * The JSON Schema (draft 2020-12) of the config file as a person writes it, for editor completion
 * and validation (e.g. `# yaml-language-server: $schema=./schema/cistern.schema.json`). Generated
 * from the zod schema; `npm run schema` rewrites schema/cistern.schema.json.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'throw',
  })
  return { ...schema, $id: SCHEMA_ID }
}

/** The file's exact text: two-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`
}
