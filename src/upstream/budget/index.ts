export { WindowCounter } from './counter.js'
export { BudgetExceededError, type BudgetExceededReason } from './errors.js'
export { Bucket } from './gcra.js'
export type { KeyStrategy } from './keys.js'
export {
  type Limit,
  type LimitInput,
  type LimitsOptions,
  normalizeLimits,
  type RateInput,
  type ReserveInput,
} from './limits.js'
export { createBudget, InProcessBudget, type InProcessBudgetOptions } from './memory-budget.js'
export { createSharedBudget, SharedBudget, type SharedBudgetOptions } from './shared-budget.js'
export type {
  AcquireOptions,
  Budget,
  BudgetSnapshot,
  KeySnapshot,
  Lane,
  Permit,
  RateTokens,
  SharedCeiling,
  SharedLimits,
} from './types.js'
