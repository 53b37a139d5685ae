import type { CisternConfig, WebhookConfig } from '../config/types.js'
import type { ExtraHandler } from '../gateway/server/context.js'
import { createCisternLogger } from '../log/logger.js'
import type { Coordination } from '../stores/coordination.js'
import { withDeadline } from '../util/deadline.js'
import { CisternError } from '../util/errors.js'
import type { Part } from '../util/lifecycle.js'
import { type Invalidator, outcomeOf, runActions, softInvalidationRefresher } from './actions.js'
import { type WebhookCounterName, WebhookCounters } from './counters.js'
import { createWebhookHandler } from './handler.js'
import { type Accepted, Receiver } from './receive.js'
import type { Reply } from './respond.js'
import type { EventStore } from './store/event-store.js'
import { openEventStore } from './store/index.js'
import type { ActionResult, RefreshRequester, WebhookEvents, WebhookLogger } from './types.js'
import { createVerifier } from './verify/index.js'
import type { HeaderMap, Verifier } from './verify/verifier.js'

export interface WebhooksDeps {
  /** Where `invalidate` actions go (the gateway's cache). */
  cache: Invalidator
  /** Where `refresh` actions go; default: softInvalidationRefresher(cache). */
  refresher?: RefreshRequester
  now?: () => number
  /** Default: cistern's logger at config.log.level, secrets scrubbed like every other line. */
  logger?: WebhookLogger
  /**
   * Use this event log instead of the one the config implies. Its opener closes it: close() then
   * leaves it open, so deliveries are still stored (as `pending`) until the listener has stopped.
   */
  store?: EventStore
  /** Hears every counter increment (the admin recorder's webhookEvent). */
  onCount?: (webhook: string, name: WebhookCounterName) => void
  /** How often old events are pruned; default 60 s. */
  pruneIntervalMs?: number
  /**
   * Instances sharing one store: a delivery (its replay key) is acted on by the first instance to
   * act on it; another that received it too (a retry, a second load-balancer target) records it as
   * a duplicate. Within each webhook's replayWindow, like the local replay check.
   */
  coordination?: Pick<Coordination, 'once'>
}

export interface Webhooks extends Part {
  /** For gateway.context.extraHandlers. */
  readonly handler: ExtraHandler
  /** The event log's read side, for the admin API's GET /events. */
  readonly events: WebhookEvents
  readonly counters: WebhookCounters
  readonly store: EventStore
  /** One delivery without HTTP (the handler's core): verify, store, answer, schedule actions. */
  receive(hook: WebhookConfig, raw: Buffer, headers: HeaderMap, params?: Record<string, string>): Reply
  /**
   * Act on the events stored but not acted on before (the last run's, and any delivered since this
   * object was made), then on each delivery as it comes; start pruning the log. Before start,
   * deliveries are verified and stored as `pending` only, so none is acted on twice.
   */
  start(): Promise<void>
  /** Resolves when every action started so far has finished. */
  idle(): Promise<void>
  /**
   * Start no more actions (deliveries are still verified and stored, as `pending`, and acted on at
   * the next start) and wait up to `graceMs` for the running ones.
   */
  drain(graceMs?: number): Promise<void>
  /**
   * Drain (up to `graceMs`, default 0) and stop pruning; then close the event log unless it was given
   * (deliveries from then on are answered 503 with Retry-After). Safe before start and more than once.
   */
  close(graceMs?: number): Promise<void>
}

const PRUNE_EVERY_APPENDS = 1000
const RESUME_LIMIT = 10_000

/** Webhooks in: one handler for every configured webhook path, its event log and its actions. */
export function createWebhooks(config: CisternConfig, deps: WebhooksDeps): Webhooks {
  const now = deps.now ?? Date.now
  const logger = deps.logger ?? createCisternLogger(config).child({ component: 'webhooks' })
  const refresher = deps.refresher ?? softInvalidationRefresher(deps.cache)
  const verifiers = new Map<WebhookConfig, Verifier>()
  for (const [i, hook] of config.webhooks.entries()) {
    try {
      verifiers.set(hook, createVerifier(hook.verify))
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      throw new CisternError('E_CONFIG', `webhooks[${i}] (${hook.name}): verify.secret: ${reason}`)
    }
  }
  const ownsStore = deps.store === undefined
  const store = deps.store ?? openWebhookLog(config, logger)
  const counters = new WebhookCounters(deps.onCount)
  const running = new Set<Promise<void>>()
  let started = false
  let draining = false
  let closed = false
  let appends = 0

  const prune = () => {
    try {
      store.prune(now())
    } catch (error) {
      logger.error({ err: error }, 'webhook event log could not be pruned')
    }
  }
  const receiver = new Receiver({
    store,
    counters,
    logger,
    now,
    verifierFor: (hook) => verifiers.get(hook) ?? createVerifier(hook.verify),
    onAppend: () => {
      if (++appends % PRUNE_EVERY_APPENDS === 0) prune()
    },
  })

  /**
   * Whether this instance acts on the delivery: the first across instances does. When the registry
   * cannot answer (the server away) it acts: a delivery acted on twice is better than one lost.
   * A win is written to the event before any action starts: if the process stops before the
   * outcome is stored, the event is resumed at the next start, and asking the registry again then
   * would be answered "not first" (by this very claim, for the rest of replayWindow) and the
   * delivery never acted on. The mark lives with the event, not in the registry, because only this
   * instance's log holds the event, and a restarted process has a new instance id.
   */
  async function firstAcross({ id, hook, deliveryId, claimed }: Accepted): Promise<boolean> {
    const once = deps.coordination?.once
    if (!once || deliveryId === undefined || hook.replayWindow <= 0 || claimed) return true
    let first: boolean
    try {
      first = await once.first(`webhook:${hook.name}`, deliveryId, hook.replayWindow)
    } catch (error) {
      logger.warn({ webhook: hook.name, event: id, err: error }, 'webhook acted on without the cluster check')
      return true
    }
    if (first && !closed) {
      try {
        store.claim(id, now())
      } catch (error) {
        // Acted on all the same; only a stop before the outcome is stored would now lose it.
        logger.error({ webhook: hook.name, event: id, err: error }, 'webhook claim could not be stored')
      }
    }
    return first
  }

  async function perform(accepted: Accepted): Promise<void> {
    const { id, hook, body, headers, params } = accepted
    if (!(await firstAcross(accepted))) {
      counters.inc(hook.name, 'duplicate')
      logger.debug({ webhook: hook.name, event: id }, 'webhook delivery acted on by another instance')
      try {
        if (!closed) store.finish(id, 'duplicate', [], now())
      } catch (error) {
        logger.error({ webhook: hook.name, event: id, err: error }, 'webhook outcome could not be stored')
      }
      return
    }
    let results: ActionResult[]
    try {
      results = await runActions(
        hook.on,
        { body, headers, params, now: now() },
        { cache: deps.cache, refresher },
      )
    } catch (error) {
      // runActions records errors per action; this only guards against the unforeseen.
      results = [{ index: -1, matched: false, error: error instanceof Error ? error.message : String(error) }]
    }
    const outcome = outcomeOf(results)
    counters.inc(hook.name, outcome)
    if (outcome === 'failed') {
      const errors = results.flatMap((r) => (r.error ? [`on[${r.index}]: ${r.error}`] : []))
      logger.warn({ webhook: hook.name, event: id, errors }, 'webhook action failed')
    }
    try {
      if (!closed) store.finish(id, outcome, results, now())
    } catch (error) {
      logger.error({ webhook: hook.name, event: id, err: error }, 'webhook outcome could not be stored')
    }
  }

  function act(accepted: Accepted): void {
    if (!started || draining) return
    // setImmediate: the reply is written before any action's synchronous work starts.
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => perform(accepted))
      .finally(() => running.delete(task))
    running.add(task)
  }

  /** Events stored but not acted on (before the last stop, or before start): act on them now. */
  function resume(): void {
    const hooksByName = new Map(config.webhooks.map((hook) => [hook.name, hook]))
    for (const event of store.pending(RESUME_LIMIT)) {
      const hook = hooksByName.get(event.webhook)
      if (!hook) {
        const error = `webhook "${event.webhook}" is no longer configured`
        try {
          store.finish(event.id, 'failed', [{ index: -1, matched: false, error }], now())
        } catch (failure) {
          // A full disk: the event stays pending and is looked at again at the next start.
          logger.error(
            { webhook: event.webhook, event: event.id, err: failure },
            'webhook outcome could not be stored',
          )
        }
        continue
      }
      act({
        id: event.id,
        hook,
        deliveryId: event.deliveryId,
        body: event.body,
        headers: event.headers ?? {},
        params: event.params ?? {},
        claimed: event.claimedAt !== undefined,
      })
    }
  }
  let timer: NodeJS.Timeout | undefined

  const idle = async () => {
    while (running.size > 0) await Promise.allSettled([...running])
  }
  async function drain(graceMs = 10_000): Promise<void> {
    draining = true
    await withDeadline(idle(), graceMs, () => undefined)
  }

  return {
    handler: createWebhookHandler({
      hooks: config.webhooks,
      receiver,
      counters,
      logger,
      onAccepted: act,
      isOpen: () => !closed,
    }),
    events: {
      list: async (query = {}) => store.list(query),
      get: async (id) => store.get(id),
    },
    counters,
    store,
    receive(hook, raw, headers, params = {}) {
      const { reply, accepted } = receiver.receive(hook, raw, headers, params)
      if (accepted) act(accepted)
      return reply
    },
    async start() {
      if (started || closed) return
      started = true
      resume()
      prune()
      timer = setInterval(prune, deps.pruneIntervalMs ?? 60_000)
      // Housekeeping must never keep the process alive.
      timer.unref()
    },
    idle,
    drain,
    async close(graceMs = 0) {
      if (closed) return
      // No await when there is nothing to wait for: a close() nobody awaits still closes the log now.
      if (graceMs > 0 && running.size > 0) await drain(graceMs)
      draining = true
      clearInterval(timer)
      if (closed || !ownsStore) return
      closed = true
      store.close()
    },
  }
}

/** The event log the config implies; a fault is logged and the log carries on in memory. */
export function openWebhookLog(config: CisternConfig, logger: WebhookLogger): EventStore {
  return openEventStore(config, {
    onFault: (error) =>
      logger.warn({ err: error }, 'webhook event log unusable: events are kept in memory until restart'),
  })
}
