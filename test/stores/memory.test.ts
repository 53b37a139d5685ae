import { memoryStore } from '../../src/stores/memory/index.js'
import { runStoreContract } from './contract.js'

// Large enough that the contract's 5 MB values and concurrent writers never trigger eviction.
runStoreContract('memory', async () => ({
  store: memoryStore({ maxSize: '256MB' }),
  cleanup: async () => {},
}))
