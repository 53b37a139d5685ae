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

// The last lines of a CI log are often all one sees of it: the failing tests of every run are
// collected as they stream past (vitest's ` FAIL ` lines) and listed again at the very end.
const failures = []
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is stripped
const ansi = /\u001b\[[0-9;]*m/g

/** Note `line` if it reports a failure, once per run. */
function note(run, line) {
  const plain = line.replace(ansi, '').trim()
  const failed = plain.startsWith('FAIL ') || plain.includes('Unhandled Error')
  if (failed && !failures.some((f) => f.run === run && f.line === plain)) failures.push({ run, line: plain })
}

/**
 * Forward each chunk to `out` (or hold it) and note the ` FAIL ` lines it holds, tagged with `run`.
 * `end()` checks the last line, which a stream may close without a newline.
 */
function watch(run, out, held) {
  let partial = ''
  const write = (chunk) => {
    if (held) held.push(chunk)
    else out.write(chunk)
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) note(run, line)
  }
  const end = () => {
    note(run, partial)
    partial = ''
  }
  return { write, end }
}

// The output goes through a pipe (to be watched), so the children would see no terminal and drop
// their colours: when this process prints to one, they are told to keep them (unless NO_COLOR or
// FORCE_COLOR says otherwise).
const childEnv =
  process.stdout.isTTY && process.env.FORCE_COLOR === undefined && process.env.NO_COLOR === undefined
    ? { ...process.env, FORCE_COLOR: '1' }
    : process.env

/** Run node with `args`; resolves to its exit code. `held` collects the output instead of printing it. */
function run(name, args, held) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const stdout = watch(name, process.stdout, held)
    const stderr = watch(name, process.stderr, held)
    child.stdout.on('data', stdout.write)
    child.stderr.on('data', stderr.write)
    child.on('error', (error) => {
      const line = Buffer.from(`${error.message}\n`)
      if (held) held.push(line)
      else process.stderr.write(line)
      resolve(1)
    })
    child.on('close', (code, signal) => {
      // 'close' comes after both streams have ended: their last lines are all in.
      stdout.end()
      stderr.end()
      resolve(code ?? (signal ? 1 : 0))
    })
  })
}

const thisNode = `Node ${process.versions.node.split('.')[0]}`
let main
let other
if (process.env.CISTERN_TEST_PARALLEL !== '1') {
  main = await run(thisNode, vitest)
  other = await run('other majors', majors)
} else {
  const held = []
  const otherDone = run('other majors', majors, held)
  main = await run(thisNode, vitest)
  console.log('\n(this Node is done; waiting for the other majors)')
  other = await otherDone
  console.log('\n──────── other Node majors (scripts/test-node-majors.mjs), run alongside ────────\n')
  for (const chunk of held) process.stdout.write(chunk)
}
if (main !== 0 || other !== 0) {
  console.error(`\nnpm test: this Node's suite exited ${main}, the other majors' ${other}`)
  for (const { run, line } of failures) console.error(`  ${run}: ${line}`)
  process.exit(1)
}
