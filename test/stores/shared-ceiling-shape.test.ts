import { describe, expectTypeOf, it } from 'vitest'
import type * as stores from '../../src/stores/coordination.js'
import type * as upstream from '../../src/upstream/budget/types.js'

// upstream/ may not import stores/, so the shared ceiling's types are declared twice on purpose
// (see both files). These fail `npm run typecheck` as soon as one copy changes without the other.
describe('the shared ceiling declared in stores/ and in upstream/', () => {
  it('has the same shape in both places', () => {
    expectTypeOf<stores.SharedCeiling>().toEqualTypeOf<upstream.SharedCeiling>()
    expectTypeOf<stores.BucketRate>().toEqualTypeOf<upstream.BucketRate>()
    expectTypeOf<stores.TakeResult>().toEqualTypeOf<upstream.TakeResult>()
  })
})
