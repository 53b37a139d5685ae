import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStore } from '../../src/stores/sqlite/index.js'
import { runStoreContract } from './contract.js'

runStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cistern-sqlite-'))
  const path = join(dir, 'cache.db')
  // No background sweep: the contract's sweep tests count what they drop themselves.
  const open = () => sqliteStore({ path, sweepIntervalMs: 0 })
  return {
    store: open(),
    reopen: async () => open(),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})
