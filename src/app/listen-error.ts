import type { ListenAddress } from '../config/types.js'
import { CisternError } from '../util/errors.js'

/** `host:port` as written in the config (`[::1]:8080` for IPv6). */
export function formatAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}

/**
 * One line naming the config key for a listener that cannot bind (`listen: 127.0.0.1:8080 is
 * already in use`), or undefined for an error that is not about binding. `serve` and `check` share
 * it, so the operator reads the same sentence before and after deploying.
 */
export function describeListenError(key: string, address: ListenAddress, error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  const at = `${key}: ${formatAddress(address)}`
  switch (code) {
    case 'EADDRINUSE':
      return `${at} is already in use`
    case 'EACCES':
      return `${at} is not allowed for this user (ports below 1024 need privileges)`
    case 'EADDRNOTAVAIL':
      return `${at} is not an address of this machine`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${at}: the host name does not resolve`
    default:
      return undefined
  }
}

/** A listener could not bind: a CisternError (E_LISTEN) with that line, else the error unchanged. */
export function listenError(key: string, address: ListenAddress, error: unknown): unknown {
  const message = describeListenError(key, address, error)
  return message === undefined ? error : new CisternError('E_LISTEN', message, { cause: error })
}
