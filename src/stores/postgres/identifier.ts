import { StoreError } from '../../util/errors.js'

/**
 * An SQL identifier, quoted: any text is safe inside double quotes once its own double quotes are
 * doubled. Postgres cuts identifiers at 63 bytes, which would quietly merge two long namespaces.
 */
export function quoteIdent(name: string): string {
  if (name === '' || name.includes('\0') || Buffer.byteLength(name, 'utf8') > 63) {
    throw new StoreError(
      'postgres',
      'open',
      `namespace ${JSON.stringify(name)} is not a usable schema name (1 to 63 bytes, no NUL)`,
      'E_STORE_OPEN',
    )
  }
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * An SQL string literal: its own single quotes doubled (standard_conforming_strings, on since
 * Postgres 9.1, leaves backslashes as they are). For names passed as text, such as nextval's
 * sequence, which hold a quoted identifier and so any namespace.
 */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
