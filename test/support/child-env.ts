/**
 * The environment for a cistern process a test starts: clean (no CISTERN_* from the test run), but
 * with this Node's options, since on another Node major scripts/test-node-majors.mjs preloads the
 * SQLite addon built for it through NODE_OPTIONS and a child without it cannot open a store.
 */
export function childEnv(): Record<string, string> {
  const { PATH = '', NODE_OPTIONS } = process.env
  return { PATH, ...(NODE_OPTIONS && { NODE_OPTIONS }) }
}
