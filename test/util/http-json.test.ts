import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { sendJsonError, sendJsonText } from '../../src/util/http-json.js'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/** One server on 127.0.0.1 that answers every request with `answer`. */
async function serve(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((_req, res) => answer(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

describe('the JSON answer writer', () => {
  it('answers { error: { code, message } }, never cached, with credentials in the message masked', async () => {
    const url = await serve((res) =>
      sendJsonError(res, 502, 'upstream_bad_response', 'GET https://u.example/x?api_key=s3cret failed', {
        'retry-after': '5',
      }),
    )
    const answer = await fetch(url)
    expect(answer.status).toBe(502)
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(answer.headers.get('cache-control')).toBe('no-store')
    expect(answer.headers.get('retry-after')).toBe('5')
    const body = (await answer.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_bad_response')
    expect(body.error.message).not.toContain('s3cret')
    expect(body.error.message).toContain('https://u.example/x?api_key=')
  })

  it('cuts the connection when a response has already started, instead of throwing', async () => {
    const url = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"partial":')
      sendJsonText(res, 500, '{}')
    })
    await expect(fetch(url).then((answer) => answer.text())).rejects.toThrow()
  })
})
