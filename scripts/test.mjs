// The last step of `npm test`: the suite on this Node, then on the other supported majors
// (scripts/test-node-majors.mjs: the whole suite on Node 24, the node:http tests on 22).
// One after the other by default: several tests measure timing (budgets per second, event-loop
// blocking, SIGKILL landing inside a transaction) and two suites sharing a 2-core machine made them
// flaky. CISTERN_TEST_PARALLEL=1 runs both side by side (faster on a quiet machine with spare cores);
// the other majors' output is then held and printed after this run's, so each reads whole.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Test files or filters given (`node scripts/test.mjs test/config`) narrow both runs.
const filters = process.argv.slice(2)
const vitest = [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...filters]
const majors = [join(root, 'scripts', 'test-node-majors.mjs'), ...filters]

/** Run node with `args`; resolves to its exit code. `held` collects the output instead of printing it. */
function run(args, held) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', held ? 'pipe' : 'inherit', held ? 'pipe' : 'inherit'],
    })
    if (held) {
      child.stdout.on('data', (chunk) => held.push(chunk))
      child.stderr.on('data', (chunk) => held.push(chunk))
    }
    child.on('error', (error) => {
      held?.push(Buffer.from(`${error.message}\n`))
      resolve(1)
    })
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

let main
let other
if (process.env.CISTERN_TEST_PARALLEL !== '1') {
  main = await run(vitest)
  other = await run(majors)
} else {
  const held = []
  const otherDone = run(majors, held)
  main = await run(vitest)
  console.log('\n(this Node is done; waiting for the other majors)')
  other = await otherDone
  console.log('\n──────── other Node majors (scripts/test-node-majors.mjs), run alongside ────────\n')
  for (const chunk of held) process.stdout.write(chunk)
}
if (main !== 0 || other !== 0) {
  console.error(`\nnpm test: this Node's suite exited ${main}, the other majors' ${other}`)
  process.exit(1)
}
