/** A failure the CLI reports as one clear line and an exit code (3: not authorized, 4: unreachable). */
export class AdminClientError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'AdminClientError'
    this.exitCode = exitCode
  }
}

export interface AdminClientOptions {
  /** The admin listener, e.g. http://127.0.0.1:8081. */
  url: string
  token: string | undefined
  /** Per request (default 10 s). */
  timeoutMs?: number
}

/** The admin API over HTTP, for the CLI: JSON in, JSON out, errors as AdminClientError. */
export class AdminClient {
  readonly #base: string
  readonly #token: string | undefined
  readonly #timeoutMs: number

  constructor(options: AdminClientOptions) {
    this.#base = options.url.replace(/\/+$/, '')
    this.#token = options.token
    this.#timeoutMs = options.timeoutMs ?? 10_000
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>('GET', path)
  }

  delete<T>(path: string): Promise<T> {
    return this.#call<T>('DELETE', path)
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', path, body)
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.#token) {
      throw new AdminClientError('no admin token: pass --token or set CISTERN_ADMIN_TOKEN', 3)
    }
    let response: Response
    try {
      response = await fetch(this.#base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (error) {
      throw new AdminClientError(
        `cannot reach the admin API at ${this.#base}: ${reason(error)} (is cistern running? see --admin)`,
        4,
      )
    }
    const text = await response.text()
    const parsed = parseJson(text)
    if (response.status === 401) {
      throw new AdminClientError(
        `the admin API at ${this.#base} refused the token (401): check --token or CISTERN_ADMIN_TOKEN`,
        3,
      )
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error
      const detail = error ? `${error.code}: ${error.message}` : text.slice(0, 200)
      throw new AdminClientError(`admin API ${method} ${path} answered ${response.status}: ${detail}`)
    }
    if (parsed === undefined)
      throw new AdminClientError(`admin API ${method} ${path} answered something that is not JSON`)
    return parsed as T
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The innermost cause's message: fetch says only "fetch failed", its cause says ECONNREFUSED. */
function reason(error: unknown): string {
  let current: unknown = error
  let message = 'request failed'
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = (current as { code?: string }).code ?? current.message
    current = current.cause
  }
  return message
}
