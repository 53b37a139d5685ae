import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/stores/open-store.js'
import { findService, freePort, type ServiceHandle, startRedis } from '../support/services.js'
import { makeEntry } from './contract/support.js'

const bin = findService('redis-server')

/** store.url: redis-sentinel://host:port/master-name reaches the master the sentinel names. */
describe.skipIf(!bin)('redis store through a Sentinel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cistern-sentinel-'))
  let master: ServiceHandle
  let sentinel: ChildProcess
  let sentinelPort = 0

  beforeAll(async () => {
    master = await startRedis(bin!)
    sentinelPort = await freePort()
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(
      conf,
      `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor cisternmaster 127.0.0.1 ${master.port} 1\n`,
    )
    sentinel = spawn(bin!, [conf, '--sentinel'], { stdio: 'ignore' })
  })

  afterAll(async () => {
    sentinel?.kill('SIGKILL')
    await master?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('opens the master the sentinel names and stores through it', async () => {
    const config = {
      kind: 'redis' as const,
      url: `redis-sentinel://127.0.0.1:${sentinelPort}/cisternmaster`,
      namespace: 'sentinel',
      memory: 0,
      timeout: 2000,
      maxSize: 10_000_000,
    }
    // The sentinel may need a moment to listen: retry the first write, bounded.
    const store = openStore(config)
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await store.set(makeEntry('through-sentinel'))
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    expect((await store.get('through-sentinel'))?.key).toBe('through-sentinel')
    await store.close()
    const direct = openStore({ ...config, url: master.url })
    expect((await direct.get('through-sentinel'))?.key).toBe('through-sentinel')
    await direct.close()
  }, 20_000)
})
