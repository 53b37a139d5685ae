// The admin API as the dashboard uses it: the bearer token kept in sessionStorage (this tab only),
// every call with it, a 401 sends the page back to the login form.

const TOKEN_KEY = 'cistern-admin-token'

/** Takes a `?token=` from the address (once), keeps it for this tab, and strips it from the URL. */
export function adoptTokenFromUrl() {
  const url = new URL(window.location.href)
  const token = url.searchParams.get('token')
  if (token === null) return
  sessionStorage.setItem(TOKEN_KEY, token)
  url.searchParams.delete('token')
  window.history.replaceState(null, '', url.pathname + url.search + url.hash)
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value)
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY)
}

export class Unauthorized extends Error {}

/** GET/DELETE/POST a JSON endpoint; throws Unauthorized on 401 and Error with the API's message otherwise. */
export async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token()}`, accept: 'application/json' },
  })
  if (response.status === 401) throw new Unauthorized('token refused')
  const body = await response.json().catch(() => undefined)
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`)
  return body
}

/**
 * Follows GET /changes (server-sent events) through fetch, which, unlike EventSource, can send the
 * Authorization header. Reconnects after a pause with Last-Event-ID, until `signal` aborts.
 */
export async function followChanges(onEvent, signal) {
  let lastEventId
  while (!signal.aborted) {
    try {
      const headers = { authorization: `Bearer ${token()}`, accept: 'text/event-stream' }
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
      const response = await fetch('/changes', { headers, signal })
      if (response.status === 401) throw new Unauthorized('token refused')
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end !== -1) {
          const event = parseEvent(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          if (event) {
            // A `reset` (our Last-Event-ID was not in the buffer) moves the id on; only changes are listed.
            if (event.id !== undefined) lastEventId = event.id || undefined
            if (event.type === 'change') onEvent(event)
          }
          end = buffer.indexOf('\n\n')
        }
      }
    } catch (error) {
      if (error instanceof Unauthorized || signal.aborted) return
    }
    await new Promise((resolve) => setTimeout(resolve, 5000))
  }
}

function parseEvent(block) {
  let id
  let type = 'message'
  let data = ''
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) id = line.slice(3).trim()
    else if (line.startsWith('event:')) type = line.slice(6).trim()
    else if (line.startsWith('data:')) data += line.slice(5).trim()
  }
  if (data === '') return undefined
  try {
    return { id, type, data: JSON.parse(data) }
  } catch {
    return undefined
  }
}
