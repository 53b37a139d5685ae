/** A minimal SSE reader over fetch: collects events (and the raw text) until closed. */
export interface SseClient {
  /** `change` events, in order. */
  events: { id: string; data: Record<string, unknown> }[]
  /** Every event of any type (`change`, `reset`), in order; `id` is undefined when the block had none. */
  all: { type: string; id: string | undefined; data: Record<string, unknown> }[]
  /** Everything received, comments included. */
  text: string
  /** The id of the last event received (what a browser sends as Last-Event-ID). */
  lastId(): string | undefined
  close(): void
  /** Resolves once `n` change events have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>
  /** Resolves once the raw text satisfies `check` (or rejects after `timeoutMs`). */
  waitForText(check: (text: string) => boolean, timeoutMs?: number): Promise<void>
  status: number
  headers: Headers
}

async function poll(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(what())
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController()
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  })
  const client: SseClient = {
    events: [],
    all: [],
    text: '',
    status: res.status,
    headers: res.headers,
    lastId: () => client.all.findLast((e) => e.id !== undefined)?.id,
    close: () => controller.abort(),
    waitFor: (n, timeoutMs = 5000) =>
      poll(
        () => client.events.length >= n,
        timeoutMs,
        () => `only ${client.events.length} of ${n} events arrived`,
      ),
    waitForText: (check, timeoutMs = 5000) =>
      poll(
        () => check(client.text),
        timeoutMs,
        () => `the stream never showed what was expected: ${JSON.stringify(client.text.slice(0, 500))}`,
      ),
  }
  if (!res.ok) {
    client.text = await res.text()
    return client
  }
  void (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true })
        client.text += text
        buffer += text
        let end = buffer.indexOf('\n\n')
        while (end !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields = new Map<string, string>()
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':')
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
          }
          const type = fields.get('event')
          if (type !== undefined && fields.has('data')) {
            const data = JSON.parse(fields.get('data')!) as Record<string, unknown>
            client.all.push({ type, id: fields.get('id'), data })
            if (type === 'change') client.events.push({ id: fields.get('id')!, data })
          }
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // Aborted by close(), or the server ended the stream.
    }
  })()
  return client
}
