import type { Command } from 'commander'
import { AdminClient, AdminClientError } from '../admin/client/client.js'
import { entryView, statsView, upstreamsView } from '../admin/client/views.js'
import type { EntryBody } from '../admin/routes/entries.js'
import type { StatsBody } from '../admin/routes/stats.js'
import type { UpstreamBody } from '../admin/routes/upstreams.js'
import { parseSelector, type SingleSelector } from '../stores/store.js'

interface CommonOptions {
  admin: string
  token?: string
  json?: boolean
}

type Selection = { key?: string; tag?: string; prefix?: string }

/**
 * The commands that talk to a running cistern's admin API: stats, purge, inspect, refresh, upstreams.
 * Each prints a readable table, or the API's JSON with --json (for scripts).
 */
export function registerAdminCommands(program: Command, print: (text: string) => void): void {
  const command = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .option(
        '--admin <url>',
        'admin API URL (env CISTERN_ADMIN_URL)',
        process.env.CISTERN_ADMIN_URL ?? 'http://127.0.0.1:8081',
      )
      .option('--token <token>', 'admin token (default: env CISTERN_ADMIN_TOKEN)')
      .option('--json', 'print the JSON answer instead of a table')

  const client = (options: CommonOptions) =>
    new AdminClient({ url: options.admin, token: options.token ?? process.env.CISTERN_ADMIN_TOKEN })
  const out = (options: CommonOptions, body: unknown, text: () => string) =>
    print(options.json ? JSON.stringify(body, null, 2) : text())

  command('stats', 'hits, misses, hit rate, upstream calls and calls saved, per route').action(
    async (options: CommonOptions) => {
      const stats = await client(options).get<StatsBody>('/stats')
      out(options, stats, () => statsView(stats))
    },
  )

  selecting(command('purge', 'remove entries by tag, prefix or key (--soft: mark stale instead)'))
    .option('--soft', 'mark stale (still served while refreshing) instead of deleting')
    .action(async (options: CommonOptions & Selection & { soft?: boolean }) => {
      const [name, value] = selection(options)
      const query = new URLSearchParams({ [name]: value, ...(options.soft && { soft: '1' }) })
      const result = await client(options).delete<{ count: number; soft: boolean }>(`/entries?${query}`)
      out(
        options,
        result,
        () => `${result.soft ? 'marked stale' : 'purged'} ${result.count} entries (${name} ${value})`,
      )
    })

  command('inspect', 'show one entry: state, age, tags, headers, next refresh')
    .argument('<key>', 'the cache key, e.g. /ftc/2025/teams/1234')
    .action(async (key: string, options: CommonOptions) => {
      const entry = await client(options).get<EntryBody>(`/entries/${encodeURIComponent(key)}`)
      out(options, entry, () => entryView(entry))
    })

  selecting(command('refresh', 'refresh entries by key, tag or prefix in the background')).action(
    async (options: CommonOptions & Selection) => {
      const [name, value] = selection(options)
      const result = await client(options).post<{ count: number; mode: string; queued: number }>('/refresh', {
        [name]: value,
      })
      out(
        options,
        result,
        () => `${result.count} entries marked stale; refresh: ${result.mode} (${result.queued} queued)`,
      )
    },
  )

  command('upstreams', 'budget, UP/DOWN and recent calls per upstream').action(
    async (options: CommonOptions) => {
      const body = await client(options).get<{ upstreams: UpstreamBody[] }>('/upstreams')
      out(options, body, () => upstreamsView(body.upstreams))
    },
  )
}

function selecting(command: Command): Command {
  return command
    .option('--key <key>', 'one cache key')
    .option('--tag <tag>', 'every entry with this tag')
    .option('--prefix <prefix>', 'every key starting with this (--prefix / selects all)')
}

/** The flags as a [field, value] pair, checked by the store's selector parser before any request. */
function selection(options: Selection): ['key' | 'tag' | 'prefix', string] {
  let selector: SingleSelector
  try {
    selector = parseSelector(options, (field) => `--${field}`)
  } catch (error) {
    throw new AdminClientError((error as Error).message, 2)
  }
  return Object.entries(selector)[0] as ['key' | 'tag' | 'prefix', string]
}
