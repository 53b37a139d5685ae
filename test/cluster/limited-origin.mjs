// An upstream that enforces its own limit, as the real ones do: at most `most` calls in any sliding
// 1 s window, answering 429 past it. It runs in a process of its own at a higher scheduling priority
// than the cistern instances and the load (see startLimitedOrigin): a real upstream is on another
// machine, and an origin sharing the test's starved event loop stamps a backlog of requests that
// arrived over a second as one burst. Arrival times are epoch ms (timeOrigin + now), comparable across
// processes. GET /__arrivals (never counted) reports them; /__reset forgets them.
import { createServer } from 'node:http'

const most = Number(process.argv[2])
const arrivals = []
let refused = 0
const server = createServer((req, res) => {
  if (req.url === '/__reset') {
    arrivals.length = 0
    refused = 0
    res.end()
    return
  }
  if (req.url === '/__arrivals') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ arrivals, refused }))
    return
  }
  const now = performance.timeOrigin + performance.now()
  let inWindow = 0
  for (let i = arrivals.length - 1; i >= 0 && arrivals[i] > now - 1000; i--) inWindow++
  if (inWindow + 1 > most) {
    refused++
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
    res.end('{"error":"rate limited"}')
    return
  }
  arrivals.push(now)
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' })
  res.end(JSON.stringify({ path: req.url }))
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
