/** An http.Server that can stop listening (refusing connections) and listen again on the same port. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export class Listener {
  private server: Server | undefined

  constructor(
    public port: number,
    readonly host: string,
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`
  }

  get listening(): boolean {
    return this.server !== undefined
  }

  /** Listen on `port` (0 the first time → a free port; afterwards the same port again). */
  async open(): Promise<void> {
    if (this.server) return
    const server = createServer(this.handler)
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(this.port, this.host, () => {
            server.off('error', reject)
            resolve()
          })
        })
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EADDRINUSE' || attempt >= 20 || this.port === 0) throw err
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Stop listening and destroy every connection, idle, active or hung. */
  close(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return Promise.resolve()
    return new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
