import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 240_000, env: process.env }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

describe('installing cistern as a dependency', () => {
  it('package-lock.json lists every optional Biome binary, so a fresh npm install leaves it unchanged', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>
    }
    const biome = lock.packages['node_modules/@biomejs/biome']!
    const manifest = JSON.parse(
      readFileSync(join(ROOT, 'node_modules', '@biomejs', 'biome', 'package.json'), 'utf8'),
    ) as { version: string; optionalDependencies: Record<string, string> }
    expect(biome.version).toBe(manifest.version)
    const missing = Object.keys(manifest.optionalDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.version !== manifest.optionalDependencies[name],
    )
    expect(missing, 'npm install adds these to the lockfile').toEqual([])
  })

  // A folder install runs `prepare` in the folder: that must build dist/, or `import 'cistern'` and
  // `npx cistern` fail. (On the other Node majors the suite reruns, npm is the same: run once.)
  it.skipIf(process.env.CISTERN_OTHER_NODE_MAJOR === '1')(
    'npm install <folder> builds dist/: import "cistern" and npx cistern work',
    async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'cistern-install-'))
      try {
        // The checkout as a user has it after `git clone` and `npm install`: sources and
        // node_modules, no dist/.
        const source = join(scratch, 'cistern')
        const skip = new Set(['node_modules', 'dist', '.git', '.cistern', 'coverage'])
        cpSync(ROOT, source, { recursive: true, filter: (path) => !skip.has(basename(path)) })
        symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(source, 'node_modules'))
        expect(existsSync(join(source, 'dist'))).toBe(false)

        const app = join(scratch, 'app')
        mkdirSync(app)
        writeFileSync(
          join(app, 'package.json'),
          JSON.stringify({ name: 'app', private: true, type: 'module' }),
        )
        const install = await run('npm', ['install', source, '--offline', '--no-audit', '--no-fund'], app)
        expect(install.code, install.stderr).toBe(0)
        expect(existsSync(join(source, 'dist', 'src', 'index.js'))).toBe(true)

        writeFileSync(
          join(app, 'use.mjs'),
          "import { createCache } from 'cistern'\nconst cache = createCache({})\nconsole.log(typeof cache.getOrSet)\n",
        )
        const used = await run(process.execPath, ['use.mjs'], app)
        expect(used.stdout.trim(), used.stderr).toBe('function')
        const version = await run('npx', ['--no-install', 'cistern', '--version'], app)
        expect(version.stdout.trim(), version.stderr).toBe(pkg.version)
      } finally {
        rmSync(scratch, { recursive: true, force: true })
      }
    },
    300_000,
  )
})
