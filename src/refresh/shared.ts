import type { RouteConfig } from '../config/types.js'
import type { Coordination, RefreshClaim } from '../stores/coordination.js'
import type { Job } from './queue.js'
import { type JobDeps, type JobOutcome, runRefresh } from './refresh-job.js'

/**
 * How long a claim outlives a refresh that stops renewing it (its instance died or froze): another
 * instance takes the key over at most this long after. The holder renews it while the refresh runs.
 */
export const CLAIM_LEASE_MS = 5000

/** How soon an instance that found the key being refreshed elsewhere looks again. */
const RUNNING_RECHECK_MS = 250

/**
 * One due refresh with several instances on one Coordination: the key is claimed first, so it is
 * refreshed once across the cluster. Busy (another instance refreshes it, or did and it is not due
 * yet) comes back as `busy` with when to look again, which also lines this instance's next due time
 * up with the one that refreshed. The claim holder compares with what the last refresh saw on any
 * instance and records what it saw before publishing, so a change is detected once; the event goes
 * to the shared change log, notify deliveries go out from here only.
 *
 * While the coordination is unhealthy (or the claim cannot be asked for) the refresh runs as a
 * single instance's would, with the cache's copy as the baseline: the key stays warm, at the price of
 * each instance refreshing it until the server is back.
 */
export async function runClaimed(
  deps: JobDeps,
  coordination: Pick<Coordination, 'refreshClaims' | 'changes' | 'healthy'>,
  key: string,
  route: RouteConfig,
  kept: boolean,
  job: Job,
  skipYoungerThan = 0,
): Promise<JobOutcome> {
  if (!coordination.healthy()) return runRefresh(deps, key, route, false, skipYoungerThan)
  const claims = coordination.refreshClaims
  let claim: Awaited<ReturnType<typeof claims.claim>>
  try {
    claim = await claims.claim(key, CLAIM_LEASE_MS, { force: job.forced === true })
  } catch (error) {
    deps.onError?.(error, 'refresh claim')
    return runRefresh(deps, key, route, false, skipYoungerThan)
  }
  if (!claim.claimed) {
    // Done: come back when the key is next due. Running: the holder's lease says when it would be
    // taken over, but a refresh usually ends long before, so look again soon and line up with it.
    const retryInMs =
      claim.state === 'running' ? Math.min(claim.retryInMs, RUNNING_RECHECK_MS) : claim.retryInMs
    return { kind: 'busy', retryInMs }
  }
  const held: RefreshClaim = claim
  const started = deps.now()
  // The claim holds the key until it is next due, start to start as the scheduler counts.
  const nextInMs = () => (job.every > 0 ? Math.max(0, started + job.every - deps.now()) : 0)
  // The claim's own bookkeeping failing does not make the refresh fail: it is reported, and the claim
  // expires with its lease at worst.
  const reported = (error: unknown) => deps.onError?.(error, 'refresh claim')
  let recorded = false
  let outcome: JobOutcome
  try {
    let seen: Awaited<ReturnType<typeof claims.seen>>
    let readable = true
    try {
      seen = await claims.seen(key)
    } catch (error) {
      reported(error)
      readable = false
    }
    // What was seen last cannot be read: run as a single instance's would (as when the claim cannot be
    // asked for), still holding the key so the others do not refresh it too.
    outcome = readable
      ? await runRefresh(deps, key, route, kept, skipYoungerThan, {
          seen,
          changes: coordination.changes,
          async record(next) {
            recorded = true
            try {
              await held.done(nextInMs(), next)
            } catch (error) {
              // Not known to be recorded: nothing is published (the next refresh finds the change,
              // unless only the reply was lost), and the claim just expires.
              reported(error)
              return false
            }
            return !held.signal.aborted
          },
        })
      : await runRefresh(deps, key, route, false, skipYoungerThan)
  } catch (error) {
    // A failed refresh holds the key until it is next due too: every instance trying in turn would
    // multiply the calls to a failing upstream.
    if (!recorded) await held.done(nextInMs()).catch(reported)
    throw error
  }
  if (!recorded) {
    try {
      if (outcome.kind === 'drop') await held.release()
      else await held.done(nextInMs())
    } catch (error) {
      reported(error)
    }
  }
  return outcome
}
