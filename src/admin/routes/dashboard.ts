import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AdminRequest } from '../context.js'
import { AdminError, BASE_HEADERS, sendError } from '../http.js'

interface Asset {
  file: string
  type: string
}

// The page's own files sit beside this module's folder (copied next to dist by `npm run build`).
const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url))
const UPLOT_DIR = (() => {
  try {
    return dirname(createRequire(import.meta.url).resolve('uplot'))
  } catch {
    return undefined
  }
})()

function vendor(file: string, type: string): Asset | undefined {
  return UPLOT_DIR === undefined ? undefined : { file: join(UPLOT_DIR, file), type }
}

/** Every static file the admin listener serves, by URL path: a fixed list, so no path ever reaches the disk. */
const ASSETS = new Map<string, Asset | undefined>([
  ['/dashboard/app.js', { file: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript' }],
  ['/dashboard/api.js', { file: join(DASHBOARD_DIR, 'api.js'), type: 'text/javascript' }],
  ['/dashboard/panels.js', { file: join(DASHBOARD_DIR, 'panels.js'), type: 'text/javascript' }],
  ['/dashboard/upstreams.js', { file: join(DASHBOARD_DIR, 'upstreams.js'), type: 'text/javascript' }],
  ['/dashboard/style.css', { file: join(DASHBOARD_DIR, 'style.css'), type: 'text/css' }],
  ['/vendor/uplot.js', vendor('uPlot.iife.min.js', 'text/javascript')],
  ['/vendor/uplot.css', vendor('uPlot.min.css', 'text/css')],
])
const INDEX: Asset = { file: join(DASHBOARD_DIR, 'index.html'), type: 'text/html' }

// Scripts and styles from this origin only; the page talks to this origin only.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const loaded = new Map<string, Promise<Buffer>>()

function load(asset: Asset): Promise<Buffer> {
  let body = loaded.get(asset.file)
  if (!body) {
    body = readFile(asset.file)
    // A failed read is retried next time rather than remembered.
    body.catch(() => loaded.delete(asset.file))
    loaded.set(asset.file, body)
  }
  return body
}

export function isAsset(path: string): boolean {
  return ASSETS.has(path)
}

/** A static asset (no data in it, so no token needed: a <script src> cannot send one). */
export async function serveAsset({ res, url }: AdminRequest): Promise<void> {
  const asset = ASSETS.get(url.pathname)
  if (!asset) {
    sendError(res, new AdminError(404, 'not_found', `${url.pathname} is not available`))
    return
  }
  await send(res, asset, 200)
}

/**
 * GET /: the dashboard page. With a valid token (header, or `?token=` that the page then moves to
 * sessionStorage and strips from the address bar) it answers 200; without one 401 — to a browser
 * with the same page, which then asks for the token; to anything else with the JSON error.
 */
export async function serveIndex(request: AdminRequest, authorized: boolean): Promise<void> {
  const { req, res } = request
  if (!authorized && !(req.headers.accept ?? '').includes('text/html')) {
    sendError(
      res,
      new AdminError(401, 'unauthorized', 'missing or wrong admin token', {
        'www-authenticate': 'Bearer realm="cistern-admin"',
      }),
    )
    return
  }
  await send(res, INDEX, authorized ? 200 : 401)
}

async function send(res: AdminRequest['res'], asset: Asset, status: number): Promise<void> {
  const body = await load(asset)
  res.writeHead(status, {
    ...BASE_HEADERS,
    'content-type': `${asset.type}; charset=utf-8`,
    'content-length': String(body.byteLength),
    'content-security-policy': CSP,
    ...(status === 401 && { 'www-authenticate': 'Bearer realm="cistern-admin"' }),
  })
  res.end(body)
}
