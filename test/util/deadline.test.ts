import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { closeServer } from '../../src/util/close-server.js'
import { rejectAfter, withDeadline } from '../../src/util/deadline.js'

const never = new Promise<never>(() => {})

describe('withDeadline', () => {
  it('settles with the work when it comes first', async () => {
    await expect(withDeadline(Promise.resolve(1), 1_000, () => 2)).resolves.toBe(1)
    await expect(withDeadline(Promise.reject(new Error('boom')), 1_000, () => 2)).rejects.toThrow('boom')
  })

  it('answers the fallback, or fails as onDeadline says, once the deadline passes', async () => {
    await expect(withDeadline(never, 5, () => 'fallback')).resolves.toBe('fallback')
    await expect(rejectAfter(never, 5)).rejects.toThrow('no answer within 5ms')
  })

  it('has no deadline when ms is undefined', async () => {
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve('late'), 20))
    await expect(withDeadline(slow, undefined, () => 'fallback')).resolves.toBe('late')
  })
})

describe('closeServer', () => {
  it('stops accepting, lets a request finish within the grace, and cuts one that runs over', async () => {
    let release: (() => void) | undefined
    const server = createServer((_req, res) => {
      release = () => res.end('done')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const quick = fetch(`${url}/`).then((r) => r.text())
    await expect.poll(() => release !== undefined).toBe(true)
    const closing = closeServer(server, 10_000)
    release!()
    await expect(quick).resolves.toBe('done')
    await closing
    expect(server.listening).toBe(false)

    const again = createServer((_req, res) => {
      res.writeHead(200)
      res.write('never ends')
    })
    await new Promise<void>((resolve) => again.listen(0, '127.0.0.1', resolve))
    const port = (again.address() as AddressInfo).port
    const hanging = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = Date.now()
    await closeServer(again, 100)
    expect(Date.now() - started).toBeLessThan(5_000)
    await expect(hanging).rejects.toThrow()
  })
})
