/** A response body as JSON, or undefined when there is none or it is not JSON (callers then skip it). */
export function parseJsonBody(body: Buffer | null | undefined): unknown {
  if (body === null || body === undefined || body.byteLength === 0) return undefined
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}
