import { describe, expect, it } from 'vitest'
import { createRedisOnce } from '../../src/stores/redis/once.js'
import { findService } from '../support/services.js'
import { redisFixture } from './redis-helpers.js'

const bin = findService('redis-server')

describe.skipIf(!bin)('redis once registry', () => {
  const redis = redisFixture(bin!)

  const instances = (n: number) => redis.instances(n, createRedisOnce)

  it('the first caller of (scope, id) on any instance wins, once, among concurrent callers', async () => {
    const registries = await instances(3)
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => registries[i % 3]!.first('webhook:tba', 'delivery-1', 10_000)),
    )
    expect(answers.filter(Boolean)).toHaveLength(1)
    expect(await registries[0]!.first('webhook:tba', 'delivery-2', 10_000)).toBe(true)
    expect(await registries[1]!.first('webhook:other', 'delivery-1', 10_000)).toBe(true)
  })

  it('scopes and ids cannot run into each other through separators', async () => {
    const [a] = await instances(1)
    expect(await a!.first('webhook:a', 'b:c', 10_000)).toBe(true)
    expect(await a!.first('webhook:a:b', 'c', 10_000)).toBe(true)
    expect(await a!.first('webhook:a', 'b:c', 10_000)).toBe(false)
  })

  it('is first again once the ttl has passed', async () => {
    const [a, b] = await instances(2)
    expect(await a!.first('s', 'id', 100)).toBe(true)
    expect(await b!.first('s', 'id', 100)).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(await b!.first('s', 'id', 100)).toBe(true)
  })
})
