import { z } from 'zod'
import { type PathPattern, PathPatternError, parsePathPattern } from '../path-pattern.js'
import {
  cel,
  compileCel,
  duration,
  expected,
  fraction,
  headerName,
  oneOrMany,
  template,
  text,
} from './common.js'

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const

/** A path pattern such as /ftc/:season/teams/:team, parsed. */
export function pathPattern(description: string) {
  return z
    .string()
    .transform((source, ctx): PathPattern => {
      try {
        return parsePathPattern(source)
      } catch (error) {
        if (!(error instanceof PathPatternError)) throw error
        ctx.addIssue({ code: 'custom', message: error.message, input: source, params: { kind: 'template' } })
        return z.NEVER
      }
    })
    .meta({ description })
}

/** `hot`, `always` or a CEL condition. */
const whileSchema = z
  .string()
  .min(1)
  .transform((source, ctx) => {
    if (source === 'hot') return { kind: 'hot' as const }
    if (source === 'always') return { kind: 'always' as const }
    const expression = compileCel(source, ctx, 'bool')
    return { kind: 'cel' as const, expression }
  })
  .meta({
    description: 'hot (read within hotWindow), always, or a CEL condition over body, params, headers, now',
  })

const refresh = z
  .strictObject({
    every: z
      .union([z.literal('adaptive'), duration('Refresh interval; defaults to the route ttl')], {
        error: expected('a duration such as 90s, 5m or 24h, or adaptive'),
      })
      .optional()
      .meta({
        description:
          'Refresh interval (defaults to the route ttl), or adaptive: learned per key from how often its data changes, within min and max',
      }),
    min: duration('With every: adaptive, the shortest interval (default 10s)').optional(),
    max: duration('With every: adaptive, the longest interval (default 10m)').optional(),
    while: whileSchema.optional(),
    hotWindow: duration('For while: hot, the read window; defaults to refreshDefaults.hotWindow').optional(),
    priority: z.enum(PRIORITIES).optional().meta({ description: 'Default: refreshDefaults.priority' }),
  })
  .meta({ description: 'Keep this route fresh in the background, within the upstream budget' })

const changes = z
  .strictObject({
    items: cel('The list of items, e.g. body.matches', 'list').optional(),
    id: cel('The id of one item, e.g. item.matchNumber', 'any', ['item', 'body', 'params', 'now']).optional(),
    invalidates: z.array(template('Tag to invalidate on change')).default([]),
    soft: z.boolean().default(true).meta({ description: 'Mark stale rather than delete' }),
  })
  .meta({ description: 'Item-level change detection and what a change invalidates' })

const warm = z
  .strictObject({
    each: cel('The list to warm for, e.g. body.matches', 'list').optional(),
    path: oneOrMany(
      template('Gateway path to fetch, e.g. /ftc/{params.season}/match/{item.id}'),
      'a path',
    ).meta({
      description: 'Gateway path(s) to fetch for each item, e.g. /ftc/{params.season}/match/{item.id}',
    }),
    all: z.boolean().default(false).meta({ description: 'Warm for every item, not only changed ones' }),
  })
  .transform(({ path, ...rest }) => ({ ...rest, paths: path }))
  .meta({ description: 'Fetch derived URLs in the background after a refresh' })

export const routeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[\w.:/-]+$/, { error: 'must use only letters, digits and _ . : / -' })
    .optional()
    .meta({ description: 'Name in metrics and the admin API; defaults to the path' }),
  path: pathPattern('Gateway path pattern, e.g. /ftc/:season/teams/:team'),
  upstream: text('Upstream name (a key of upstreams)').optional(),
  to: template('Upstream path template, e.g. /:season/teams?teamNumber=:team', true).optional(),
  methods: z
    .array(z.enum(METHODS))
    .min(1)
    .default(['GET', 'HEAD'])
    .meta({ description: 'Methods this route answers' }),
  cache: z.boolean().default(true).meta({ description: 'false: always pass through (still within budget)' }),
  ttl: duration('Fresh for; omit to follow the upstream caching headers').optional(),
  stale: duration('Then servable stale (refreshing in the background) for').prefault(0),
  staleIfError: duration('Kept after freshness to serve when the upstream fails').prefault('7d'),
  negativeTtl: duration(
    'With a ttl: fresh for, for a 404 or 410 answer (other errors are not stored)',
  ).prefault('30s'),
  jitter: fraction('Share of ttl taken off at random').prefault(0),
  tags: z.array(template('Tag template, e.g. team:{team}')).default([]),
  vary: z.array(headerName('Request header that joins the cache key')).default([]),
  query: z
    .strictObject({
      ignore: z.array(text('Query parameter ignored in the cache key')).default([]),
      allow: z
        .array(text('Query parameter that joins the cache key'))
        .optional()
        .meta({ description: 'Only these query parameters join the key and reach the upstream' }),
    })
    .prefault({}),
  maxVariants: z.number().int().min(1).optional().meta({
    description: 'Entries kept per path (queries, vary headers, clients); default limits.maxVariants',
  }),
  public: z
    .boolean()
    .default(false)
    .meta({ description: 'One entry for every client: client credentials are not forwarded upstream' }),
  bypass: z.boolean().default(true).meta({ description: 'Clients may force revalidation (no-cache)' }),
  dropHeaders: z.array(headerName('Client request header never forwarded upstream')).default([]).meta({
    description:
      'Client headers not forwarded on routes that forward end-to-end headers (no ttl, or pass-through)',
  }),
  ignoreSetCookie: z
    .boolean()
    .default(false)
    .meta({ description: 'Strip an upstream Set-Cookie and store the answer (default: not stored)' }),
  clientCacheControl: z.enum(['cistern', 'upstream']).default('cistern').meta({
    description:
      "With a ttl: clients get cistern's Cache-Control (max-age = freshness left), or the upstream's",
  }),
  invalidates: z
    .array(template('Tag invalidated by a successful write'))
    .default([])
    .meta({ description: 'Tags a successful POST/PUT/PATCH/DELETE invalidates' }),
  refresh: refresh.optional(),
  changes: changes.optional(),
  warm: warm.optional(),
  prewarm: z
    .array(z.string().regex(/^\/[^\s#]*$/, { error: 'must be a gateway path starting with /' }))
    .default([])
    .meta({ description: 'Paths of this route fetched at start' }),
  expect: z.enum(['json', 'any']).optional().meta({ description: "Default: the upstream's expect" }),
})

export type ParsedRoute = z.output<typeof routeSchema>
