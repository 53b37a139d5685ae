import { parseConfig } from '../../src/config/index.js'
import { createUpstream, type Upstream } from '../../src/upstream/create-upstream.js'

/**
 * One upstream at `url` built from the rest of its YAML (the keys under `upstreams.<name>`), the way
 * the gateway builds it, for tests that drive the client directly.
 */
export function upstreamFromYaml(url: string, body = '', now: () => number = Date.now): Upstream {
  const indented = `url: "\${URL}"\n${body}`
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
  const yaml = `listen: 127.0.0.1:0\nstore: { kind: memory }\nupstreams:\n  up:\n${indented}\n`
  const config = parseConfig(yaml, 'test.yaml', { URL: url })
  return createUpstream(config.upstreams.up!, 1024 * 1024, now)
}

/** Resolves to what `promise` rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}
