import type { Lane } from '../budget/types.js'
import type { CallOutcome } from './outcome.js'

export interface CallRecord {
  /** When the call was sent (ms). */
  at: number
  method: string
  /** Already free of secrets: pass it through redactUrl first. */
  url: string
  /** Absent when no answer came (timeout, transport error). */
  status?: number
  durationMs: number
  lane: Lane
  keyIndex: number
  outcome: CallOutcome
  /** A short error message, when the call failed. */
  error?: string
}

/** A bounded ring of recent upstream calls for the admin API; old records fall off the end. */
export class CallLog {
  readonly capacity: number
  private readonly ring: (CallRecord | undefined)[]
  private next = 0
  private count = 0

  constructor(capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`CallLog: capacity must be an integer >= 1, got ${capacity}`)
    }
    this.capacity = capacity
    this.ring = new Array<CallRecord | undefined>(capacity).fill(undefined)
  }

  get size(): number {
    return this.count
  }

  add(record: CallRecord): void {
    this.ring[this.next] = record
    this.next = (this.next + 1) % this.capacity
    this.count = Math.min(this.count + 1, this.capacity)
  }

  /** Oldest first; at most `limit` of the newest when given. */
  entries(limit = this.count): CallRecord[] {
    const n = Math.max(0, Math.min(limit, this.count))
    const out: CallRecord[] = []
    for (let i = n; i > 0; i--) {
      const record = this.ring[(this.next - i + this.capacity) % this.capacity]
      if (record) out.push(record)
    }
    return out
  }

  clear(): void {
    this.ring.fill(undefined)
    this.next = 0
    this.count = 0
  }
}
