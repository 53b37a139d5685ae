import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv } from './child-env.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

/** The admin token every instance a cluster test starts is given. */
export const CLUSTER_ADMIN_TOKEN = 'cluster-test-admin-token-0123456789'

/** One `cistern serve` process of a cluster test. */
export interface Instance {
  readonly index: number
  readonly url: string
  readonly adminUrl: string
  readonly process: ChildProcessWithoutNullStreams
  /** Everything it wrote to stdout and stderr so far (logs), for assertion messages. */
  output(): string
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>
  /** SIGSTOP / SIGCONT. */
  freeze(): void
  thaw(): void
  /** A GET on the admin API with the token. */
  admin(path: string, init?: RequestInit): Promise<Response>
}

export interface ClusterOptions {
  /** The YAML config of instance `index` (listen and admin.listen are set to 127.0.0.1:0 by the harness). */
  config: (index: number) => string
  /** Run instance `index` under `faketime` with this offset (e.g. '+5s'): a clock that disagrees. */
  clockOffset?: (index: number) => string | undefined
}

/**
 * Starts `count` cistern processes (the built CLI, as users run it), each with its own config file,
 * and waits until every one is listening. `stop()` kills what is left and removes the temp dir.
 */
export async function startCluster(
  count: number,
  options: ClusterOptions,
): Promise<{ instances: Instance[]; stop(): Promise<void> }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`)
  const dir = await mkdtemp(join(tmpdir(), 'cistern-cluster-'))
  const instances: Instance[] = []
  try {
    for (let index = 0; index < count; index++) {
      instances.push(await startInstance(dir, index, options))
    }
  } catch (error) {
    await Promise.all(instances.map((instance) => instance.kill()))
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    instances,
    async stop() {
      await Promise.all(instances.map((instance) => instance.kill()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function startInstance(dir: string, index: number, options: ClusterOptions): Promise<Instance> {
  const file = join(dir, `cistern-${index}.yaml`)
  await writeFile(file, `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\n${options.config(index)}\n`)
  const offset = options.clockOffset?.(index)
  const command = offset ? 'faketime' : process.execPath
  // `faketime -f +5s`: the wall clock (Date.now) runs 5 s ahead; the monotonic clock Node's timers use is left alone.
  const args = offset
    ? ['-f', offset, process.execPath, CLI, 'serve', '-c', file]
    : [CLI, 'serve', '-c', file]
  // Its own process group, signalled as a whole: `faketime` forks the program it runs and waits for
  // it, so a signal to faketime's pid alone would neither stop nor kill the cistern under it (killed
  // tests left such instances running for the rest of the suite).
  const child = spawn(command, args, {
    detached: true,
    env: {
      ...childEnv(),
      CISTERN_ADMIN_TOKEN: CLUSTER_ADMIN_TOKEN,
      ...(offset && { FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
    },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const deadline = Date.now() + 20_000
  let url: string | undefined
  let adminUrl: string | undefined
  while (Date.now() < deadline && child.exitCode === null) {
    url = /cistern listening on (http:\S+)/.exec(output)?.[1]
    adminUrl = /dashboard on (http:\S+)/.exec(output)?.[1]
    if (url && adminUrl) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, name)
    } catch {
      // The group is gone already.
    }
  }
  if (!url || !adminUrl) {
    signal('SIGKILL')
    throw new Error(`instance ${index} did not start:\n${output}`)
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  const base = adminUrl.replace(/\/$/, '')
  return {
    index,
    url: url.replace(/\/$/, ''),
    adminUrl: base,
    process: child,
    output: () => output,
    async kill() {
      // The whole group, even once the leader has exited (faketime's child may outlive it).
      signal('SIGCONT')
      signal('SIGKILL')
      await exited
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    admin: (path, init) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}`, ...(init?.headers ?? {}) },
      }),
  }
}
