// Preloaded (NODE_OPTIONS=--require) by scripts/test-node-majors.mjs when it runs the suite on another
// Node major. better-sqlite3's native addon is built for one Node ABI, and node_modules holds the one
// for the Node that installed it; this points better-sqlite3 at the addon test-node-majors built for
// the running Node, in node_modules/.cache, and leaves node_modules itself untouched. Without such an
// addon it does nothing.
const { existsSync } = require('node:fs')
const Module = require('node:module')
const { join, sep } = require('node:path')

const major = process.versions.node.split('.')[0]
const addon = join(__dirname, '..', 'node_modules', '.cache', `cistern-sqlite-addon-${major}`, 'better_sqlite3.node')
if (existsSync(addon)) {
  const load = Module.prototype.require
  Module.prototype.require = function require(id) {
    // better-sqlite3 loads its addon with require('bindings')('better_sqlite3.node').
    if (id === 'bindings' && this.filename?.includes(`${sep}better-sqlite3${sep}`)) return () => load.call(this, addon)
    return load.apply(this, arguments)
  }
}
