import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisConnection } from '../../src/stores/redis/connection.js'
import { RedisEntryStore } from '../../src/stores/redis/store.js'
import { findService, freePort } from '../support/services.js'
import { listKeys, makeEntry } from './contract/support.js'
import { runStoreContract } from './contract.js'

const bin = findService('redis-server')
const cli = bin && join(bin, '..', 'redis-cli')

/**
 * The same store on a real Redis Cluster of three masters: every script touches one hash slot (one
 * virtual shard), so nothing fails with CROSSSLOT, and shards land on different nodes.
 */
describe.skipIf(!bin || !cli || !existsSync(cli))('redis store on a Redis Cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cistern-redis-cluster-'))
  const nodes: ChildProcess[] = []
  let url = ''

  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()]
    for (const port of ports) {
      const nodeDir = join(dir, String(port))
      const child = spawn(
        bin!,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `${nodeDir}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
        { stdio: 'ignore' },
      )
      nodes.push(child)
    }
    const run = promisify(execFile)
    const deadline = Date.now() + 20_000
    for (;;) {
      try {
        await run(cli!, [
          '--cluster',
          'create',
          ...ports.map((p) => `127.0.0.1:${p}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ])
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    // The masters agree on the slots a moment after create returns.
    for (;;) {
      const { stdout } = await run(cli!, ['-p', String(ports[0]), 'cluster', 'info'])
      if (stdout.includes('cluster_state:ok')) break
      if (Date.now() > deadline) throw new Error(`cluster not ok: ${stdout}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    url = `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`
  }, 30_000)

  afterAll(() => {
    for (const node of nodes) node.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const open = async (namespace: string) => {
    const store = new RedisEntryStore({
      // A Cluster client learns the slots from the nodes before it takes commands: on a busy machine
      // that can take past the default one-second startup wait.
      connection: new RedisConnection({ url, namespace, timeoutMs: 5000 }),
      ownsConnection: true,
      maxSize: '256MB',
      sweepIntervalMs: 0,
    })
    await store.connection.ready(10_000)
    return store
  }

  runStoreContract('redis cluster', async () => {
    const namespace = `c${randomUUID().slice(0, 8)}`
    return { store: await open(namespace), reopen: async () => open(namespace), cleanup: async () => {} }
  })

  it('spreads the shards over the masters', async () => {
    const store = await open(`s${randomUUID().slice(0, 8)}`)
    for (let i = 0; i < 200; i++) await store.set(makeEntry(`/spread/${i}`, { tags: ['spread'] }))
    expect(await listKeys(store, { tag: 'spread' })).toHaveLength(200)
    const cluster = store.connection.client as Cluster
    const counts = await Promise.all(cluster.nodes('master').map((node) => node.dbsize()))
    expect(counts.filter((count) => count > 0).length).toBeGreaterThan(1)
    await store.close()
  })
})
