import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { describeListenError, formatAddress } from '../app/listen-error.js'
import type { ListenAddress, StoreConfig } from '../config/types.js'

/**
 * What `serve` will need from this machine, checked without starting anything: each listen address
 * is bound and released at once; the SQLite store's directory (or the nearest one that exists, which
 * the store would create the rest under) must be writable. Each returns one line, or undefined.
 */
export async function listenProblem(key: string, address: ListenAddress): Promise<string | undefined> {
  if (address.port === 0) return undefined
  const server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: address.host, port: address.port, exclusive: true }, resolve)
    })
    return undefined
  } catch (error) {
    return (
      describeListenError(key, address, error) ??
      `${key}: ${formatAddress(address)} cannot be bound: ${(error as Error).message}`
    )
  } finally {
    if (server.listening) await new Promise((resolve) => server.close(resolve))
  }
}

export async function storeProblem(store: StoreConfig): Promise<string | undefined> {
  if (store.kind !== 'sqlite' || store.path === ':memory:') return undefined
  let dir = dirname(store.path)
  // The store creates missing directories: the nearest existing ancestor is the one that must allow it.
  for (;;) {
    const found = await stat(dir).catch(() => undefined)
    if (found) {
      if (!found.isDirectory())
        return `store.path: ${dir} is not a directory (the store needs ${dirname(store.path)})`
      break
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK)
  } catch {
    return `store.path: ${dir} is not writable by this user (the store needs ${store.path})`
  }
  const file = await stat(store.path).catch(() => undefined)
  if (file && !file.isFile()) return `store.path: ${store.path} exists and is not a file`
  if (file) {
    try {
      await access(store.path, constants.W_OK)
    } catch {
      return `store.path: ${store.path} is not writable by this user`
    }
  }
  return undefined
}
