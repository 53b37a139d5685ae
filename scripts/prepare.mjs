// `prepare`: npm runs it after `npm install` in this repo and when cistern is installed from git
// (`npm install github:…`, with devDependencies installed first) or from a folder
// (`npm install ../cistern`). Either way dist/ must exist afterwards, or `import 'cistern'` and
// `npx cistern` fail. A folder whose own dependencies were never installed has no TypeScript: say
// what to do instead of failing on `tsc: not found`.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
let typescript = false
try {
  createRequire(join(root, 'package.json')).resolve('typescript/package.json')
  typescript = true
} catch {
  // not installed here
}
if (!typescript) {
  if (existsSync(join(root, 'dist', 'src', 'index.js'))) process.exit(0)
  console.error(
    `cistern: cannot build dist/: TypeScript is not installed in ${root}.\n` +
      `Run \`npm install\` in ${root} first (it builds dist/), then install it again.`,
  )
  process.exit(1)
}
execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], {
  cwd: root,
  stdio: 'inherit',
})
