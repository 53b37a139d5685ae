import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerOptions } from 'node:http'
import type { ServerConfig } from '../../config/types.js'

/**
 * How long and how many client connections a listener keeps. Node's own defaults wait 60 s for
 * headers (checked every 30 s, so a slow-header client held a socket ~85 s), 300 s for a request,
 * and take connections until the process runs out of file descriptors: then accept() fails, libuv
 * drops new clients silently, and the upstream pool and the store cannot open files either.
 */

/** Above this `auto` does not go: about 10 KB of buffers per idle socket, ~100 MB in all. */
const AUTO_CEILING = 10_000
/** The admin listener serves operators, Prometheus and the dashboard: a few dozen is plenty. */
const ADMIN_CEILING = 100

/** node:http options for a listener: the configured timeouts, checked often enough to matter. */
export function listenerOptions(config: ServerConfig): ServerOptions {
  const shortest = Math.min(config.headersTimeout, config.requestTimeout)
  return {
    headersTimeout: config.headersTimeout,
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    // Expired requests are found by a sweep at this interval (node's default: 30 s, which is why a
    // 60 s headersTimeout held a socket 85 s). A tenth of the shortest timeout, 50 ms to 1 s.
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(shortest / 10))),
    // node answers a missing Host with an empty 400; the handlers answer it in JSON (missingHost).
    requireHostHeader: false,
  }
}

/** RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 may omit it). */
export function missingHost(req: IncomingMessage): boolean {
  return req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1
}

/**
 * Connection caps for the public and the admin listener. `auto` gives the public listener half the
 * process's open-file limit (at most 10000) and the admin listener an eighth (at most 100), leaving
 * the rest for upstream connections, the store, logs and the refresh database.
 */
export function connectionCaps(
  setting: ServerConfig['maxConnections'],
  fileLimit = openFileLimit(),
): { public: number; admin: number } {
  const known = fileLimit !== undefined && Number.isFinite(fileLimit) && fileLimit > 0
  const admin = known ? Math.max(4, Math.min(ADMIN_CEILING, Math.floor(fileLimit / 8))) : ADMIN_CEILING
  if (setting !== 'auto') return { public: setting, admin }
  return {
    public: known ? Math.max(16, Math.min(AUTO_CEILING, Math.floor(fileLimit / 2))) : AUTO_CEILING,
    admin,
  }
}

/** Shedding idle connections walks all of them: not more often than this under a flood. */
const SHED_INTERVAL_MS = 1_000

/**
 * Refuse connections over `max`: node closes them as soon as they are accepted (so accept() never
 * runs the process out of descriptors) and `onDrop` hears each one. Keep-alive connections idle
 * between requests are then closed too (as nginx does when short of connections), so clients that
 * merely hold sockets cannot keep a new client out for longer than its first retry; connections
 * that never send a request are cut by headersTimeout.
 */
export function capConnections(server: Server, max: number, onDrop: () => void): void {
  server.maxConnections = max
  let shedAt = Number.NEGATIVE_INFINITY
  server.on('drop', () => {
    onDrop()
    const now = performance.now()
    if (now - shedAt < SHED_INTERVAL_MS) return
    shedAt = now
    server.closeIdleConnections()
  })
}

let cachedLimit: number | undefined | null = null

/** The soft RLIMIT_NOFILE of this process: /proc on Linux, `ulimit -n` elsewhere; undefined if unknown. */
export function openFileLimit(): number | undefined {
  if (cachedLimit !== null) return cachedLimit
  cachedLimit = readProcLimit() ?? askShell()
  return cachedLimit
}

function readProcLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (!line) return undefined
    return line[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(line[1])
  } catch {
    return undefined
  }
}

function askShell(): number | undefined {
  if (process.platform === 'win32') return undefined
  try {
    // A child inherits the limits, so its `ulimit -n` is ours (macOS has no /proc; its default is 256).
    const out = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2_000 })
    const text = out.stdout?.trim()
    if (text === 'unlimited') return Number.POSITIVE_INFINITY
    const value = Number(text)
    return Number.isInteger(value) && value > 0 ? value : undefined
  } catch {
    return undefined
  }
}
