import type { EntryInfo } from '../../model/entry.js'
import type { EntryOptions } from '../options.js'

/** Returned by `ctx.notModified()`: the source confirmed the previous value (an HTTP 304). */
export const NOT_MODIFIED: unique symbol = Symbol('cistern.notModified')

/** What the source said about the value beyond the value itself: validators and per-value policy. */
export interface ResultOptions extends EntryOptions {
  etag?: string
  lastModified?: string
}

export interface FactoryContext<T> {
  readonly key: string
  /** The stored copy (possibly stale), for conditional requests: its value, etag, lastModified. */
  readonly previous: { readonly value: T; readonly entry: EntryInfo } | undefined
  /** Aborted when the hard timeout passes; hand it to fetch() so the request stops too. */
  readonly signal: AbortSignal
  /** 'background' when refreshing a stale entry nobody waits for; 'foreground' when someone waits. */
  readonly lane: 'foreground' | 'background'
  /** Override this value's options (ttl from the source's own Cache-Control, validators, tags, meta). */
  setOptions(options: ResultOptions): void
  /**
   * Keep the previous value's bytes and restart its freshness: `return ctx.notModified()`. `updated`
   * replaces the decoded value (same bytes, new metadata such as headers from a 304).
   */
  notModified(options?: ResultOptions, updated?: T): T
  /** Hand this value to the callers but do not store it (the source said no-store). */
  doNotStore(): void
}

export type Factory<T> = (context: FactoryContext<T>) => T | Promise<T>

/** The mutable side of a context, read by the fetch runner once the factory settles. */
export class Context<T> implements FactoryContext<T> {
  overrides: ResultOptions | undefined
  updated: T | undefined
  store = true

  constructor(
    readonly key: string,
    readonly previous: FactoryContext<T>['previous'],
    readonly signal: AbortSignal,
    readonly lane: 'foreground' | 'background',
  ) {}

  setOptions(options: ResultOptions): void {
    this.overrides = { ...this.overrides, ...options }
  }

  notModified(options?: ResultOptions, updated?: T): T {
    if (options) this.setOptions(options)
    this.updated = updated
    return NOT_MODIFIED as T
  }

  doNotStore(): void {
    this.store = false
  }
}
