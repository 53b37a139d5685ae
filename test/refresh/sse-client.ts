/** A minimal SSE reader over fetch: collects `change` events until closed. */
export interface SseClient {
  events: { id: string; data: Record<string, unknown> }[]
  /** The id of the last event received (what a browser sends as Last-Event-ID). */
  lastId(): string | undefined
  close(): void
  /** Resolves once `n` events have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>
  status: number
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController()
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  })
  const client: SseClient = {
    events: [],
    status: res.status,
    lastId: () => client.events.at(-1)?.id,
    close: () => controller.abort(),
    async waitFor(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      while (client.events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${client.events.length} of ${n} events arrived`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
  }
  void (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf('\n\n')
        while (end !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields = new Map<string, string>()
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':')
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
          }
          if (fields.get('event') === 'change') {
            client.events.push({ id: fields.get('id')!, data: JSON.parse(fields.get('data')!) })
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
