import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The test files share one fork's module graph instead of each importing src/ afresh: importing
    // was two thirds of the suite's CPU time. Tests keep no state in modules (each builds its own
    // servers, stores and clocks, and restores what it stubs), so what one file leaves, another never
    // reads. One worker on this 2-core machine (vitest's default, cores - 1): several files measure
    // timing (budgets per second, event-loop blocking) and would flake side by side.
    isolate: false,
  },
})
