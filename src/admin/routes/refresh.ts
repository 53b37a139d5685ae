import type { AdminHandler } from '../context.js'
import { parseSelection, readJsonObject, sendJson } from '../http.js'

/**
 * POST /refresh {key|tag|prefix}: refresh the selection in the background lane. The selection is
 * soft-invalidated first (stale, still served), so the next read refreshes it in any case. Then:
 * - with the scheduler's refresh hook, the hook queues the refreshes (mode "scheduled");
 * - without it, a single key is refreshed now in the background lane (mode "background");
 * - a tag or prefix waits for its next read (mode "next-read").
 * Answers 202: the refreshes run after the answer.
 */
export const postRefresh: AdminHandler = async (ctx, { req, res }) => {
  const selection = parseSelection(await readJsonObject(req))
  const count = await ctx.gateway.cache.invalidate(selection, { soft: true })
  ctx.census.invalidate()
  let mode: 'scheduled' | 'background' | 'next-read' = 'next-read'
  let queued = 0
  if (ctx.hooks.refresh) {
    queued = (await ctx.hooks.refresh(selection)).queued
    mode = 'scheduled'
  } else if ('key' in selection && count > 0) {
    mode = 'background'
    queued = 1
    ctx.gateway.refreshKey(selection.key).catch((error: unknown) => {
      ctx.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'admin: refresh failed',
      )
    })
  }
  ctx.logger.info({ selection, count, mode, queued }, 'admin: refresh requested')
  sendJson(res, 202, { count, mode, queued })
}
