/**
 * A load generator on its own thread (its own core), so measured latencies are the server's and not
 * the cost of parsing a thousand responses on the server's event loop. Sends `count` GETs of `url`
 * at once over `count` warm connections and reports each request's own send-to-last-byte time.
 * Plain JavaScript: worker threads load it without a TypeScript loader.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Agent, request } from 'undici'

const job = workerData
const agent = new Agent({ connections: job.count, pipelining: 1 })
await Promise.all(
  Array.from({ length: job.count }, () =>
    request(job.warmUrl, { dispatcher: agent }).then((r) => r.body.dump()),
  ),
)
parentPort.postMessage({ ready: true })
await new Promise((resolve) => parentPort.once('message', resolve))
const results = await Promise.all(
  Array.from({ length: job.count }, async () => {
    const sent = performance.now()
    const res = await request(job.url, { dispatcher: agent })
    const body = await res.body.text()
    const xcache = String(res.headers['x-cache-status'])
    return { status: res.statusCode, xcache, ms: performance.now() - sent, bytes: body.length }
  }),
)
await agent.close()
parentPort.postMessage({ results })
