import { RedisScript } from './connection.js'

/**
 * The Lua of the Redis entry store. Every script works inside one virtual shard, whose keys all share
 * one Cluster hash slot (`base` = `<namespace>:{<shard tag>}:`), so each runs atomically on one node:
 *
 *   base..'e:'..key   hash: m (EntryInfo JSON without the three times and the value), b (value bytes),
 *                     f / s / x (freshUntil, staleUntil, expiresAt), v (version). PEXPIREAT x.
 *   base..'k'         sorted set, every key at score 0: prefix ranges and listing by ZRANGEBYLEX
 *   base..'t:'..tag   sorted set per tag, keys at score 0: tag lookups, and tag + prefix by ZRANGEBYLEX
 *   base..'x'         sorted set, key by expiresAt: the sweep
 *   base..'l'         sorted set, key by last use (server time): least recently used eviction
 *   base..'i'         hash, key -> JSON [size, tag...]: what to remove from the indexes and the byte
 *                     count when an entry goes, even after Redis expired the entry's own hash
 *   base..'n'         hash: bytes (sum of value sizes), ver (the shard's version counter)
 *
 * Redis expires an entry's hash by itself at expiresAt (server clock); its index members stay until
 * the next sweep, a set of the same key, or an invalidation that meets them, which all clean them.
 */

const COMMON = `
local function drop(base, key)
  local ix = redis.call('HGET', base .. 'i', key)
  if ix then
    local info = cjson.decode(ix)
    redis.call('HINCRBY', base .. 'n', 'bytes', -info[1])
    for i = 2, #info do redis.call('ZREM', base .. 't:' .. info[i], key) end
    redis.call('HDEL', base .. 'i', key)
  end
  redis.call('ZREM', base .. 'k', key)
  redis.call('ZREM', base .. 'x', key)
  redis.call('ZREM', base .. 'l', key)
  return redis.call('DEL', base .. 'e:' .. key)
end
local function servernow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

/**
 * KEYS[1] the entry hash. ARGV: base, key, fence ('' for none), m, b, f, s, x, expire-at ('' for
 * none), index JSON, size, shard byte bound, tag count, tags... Replies 1 when written, 0 when an
 * entry with a newer version is stored (the write is dropped).
 *
 * Versions: a fenced write carries its lease's fence and is dropped when the stored version is newer;
 * an unfenced write takes the shard counter's next value, kept above every fence and version seen, so
 * it outranks everything written before it.
 */
export const SET = new RedisScript(
  'set',
  `${COMMON}
local base, key, e = ARGV[1], ARGV[2], KEYS[1]
local n = base .. 'n'
local cur = tonumber(redis.call('HGET', e, 'v')) or 0
local version
if ARGV[3] ~= '' then
  version = tonumber(ARGV[3])
  if version < cur then return 0 end
  if (tonumber(redis.call('HGET', n, 'ver')) or 0) < version then redis.call('HSET', n, 'ver', ARGV[3]) end
else
  version = redis.call('HINCRBY', n, 'ver', 1)
  if version <= cur then
    version = cur + 1
    redis.call('HSET', n, 'ver', version)
  end
end
drop(base, key)
redis.call('HSET', e, 'm', ARGV[4], 'b', ARGV[5], 'f', ARGV[6], 's', ARGV[7], 'x', ARGV[8], 'v', version)
if ARGV[9] ~= '' then redis.call('PEXPIREAT', e, ARGV[9]) end
redis.call('ZADD', base .. 'k', 0, key)
redis.call('ZADD', base .. 'x', ARGV[8], key)
redis.call('ZADD', base .. 'l', servernow(), key)
redis.call('HSET', base .. 'i', key, ARGV[10])
for i = 14, 13 + tonumber(ARGV[13]) do redis.call('ZADD', base .. 't:' .. ARGV[i], 0, key) end
local bytes = redis.call('HINCRBY', n, 'bytes', ARGV[11])
local limit = tonumber(ARGV[12])
-- Least recently used first, never the entry just written; bounded so one write cannot run long.
local evicted = 0
while bytes > limit and evicted < 1000 do
  local oldest = redis.call('ZRANGE', base .. 'l', 0, 1)
  local victim = oldest[1]
  if victim == key then victim = oldest[2] end
  if not victim then break end
  drop(base, victim)
  evicted = evicted + 1
  bytes = tonumber(redis.call('HGET', n, 'bytes'))
end
return 1
`,
)

/** KEYS[1] the entry hash. ARGV: base, key. Replies [m, b, f, s, x] (nils when missing); marks the use. */
export const GET = new RedisScript(
  'get',
  `${COMMON}
local r = redis.call('HMGET', KEYS[1], 'm', 'b', 'f', 's', 'x')
if r[1] then redis.call('ZADD', ARGV[1] .. 'l', 'XX', servernow(), ARGV[2]) end
return r
`,
)

/** KEYS[1] the entry hash. ARGV: base, key. Replies 1 when the entry existed. */
export const DELETE = new RedisScript(
  'delete',
  `${COMMON}
return drop(ARGV[1], ARGV[2])
`,
)

/**
 * KEYS[1] the shard's key index. ARGV: base, soft ('1'/'0'), now (the caller's), report ('1': reply
 * the affected keys too), mode, then for mode 'keys' the keys, for mode 'range' the index (suffix of
 * base), start, stop and batch size (ZRANGEBYLEX bounds).
 * Replies [count, done, last examined key, affected keys...].
 *
 * Liveness is judged by the caller's now (what a get at that time would return). A soft purge ends
 * freshness at min(caller's now, server's TIME): a caller whose clock runs ahead can never leave an
 * entry fresh past the server's now for the other instances.
 */
export const INVALIDATE = new RedisScript(
  'invalidate',
  `${COMMON}
local base, soft, report = ARGV[1], ARGV[2] == '1', ARGV[4] == '1'
local callerNow = tonumber(ARGV[3])
local now, nowText = callerNow, ARGV[3]
if soft then
  local server = servernow()
  if server < now then now, nowText = server, string.format('%.0f', server) end
end
local function one(key)
  local e = base .. 'e:' .. key
  local r = redis.call('HMGET', e, 'f', 's', 'x')
  if not r[3] then
    drop(base, key)
    return false
  end
  local x = tonumber(r[3])
  if x <= callerNow then
    if not soft then drop(base, key) end
    return false
  end
  if not soft then
    drop(base, key)
    return true
  end
  local f, s = tonumber(r[1]), tonumber(r[2])
  if f <= now and s >= now then return true end
  local nf, ns, nx = r[1], r[2], r[3]
  local staleUntil = s
  if f > now then nf = nowText end
  if s < now then
    ns, staleUntil = nowText, now
  end
  if x < staleUntil then nx = ns end
  redis.call('HSET', e, 'f', nf, 's', ns, 'x', nx)
  if nx ~= r[3] then
    redis.call('ZADD', base .. 'x', nx, key)
    redis.call('PEXPIREAT', e, string.format('%.0f', math.ceil(tonumber(nx))))
  end
  return true
end
local count, done, last, affected = 0, 1, '', {}
local function visit(key)
  last = key
  if one(key) then
    count = count + 1
    if report then affected[#affected + 1] = key end
  end
end
if ARGV[5] == 'keys' then
  for i = 6, #ARGV do visit(ARGV[i]) end
else
  local batch = tonumber(ARGV[9])
  local members = redis.call('ZRANGEBYLEX', base .. ARGV[6], ARGV[7], ARGV[8], 'LIMIT', 0, batch)
  for _, key in ipairs(members) do visit(key) end
  if #members == batch then done = 0 end
end
return {count, done, last, unpack(affected)}
`,
)

/**
 * KEYS[1] the shard's key index. ARGV: base, index (suffix of base), start, stop, limit, now, budget.
 * Replies [done, last examined key, key, m, f, s, x, key, m, ...]: up to `limit` live entries in key
 * order; done is 0 when the shard may hold more after `last` (the page filled, or `budget` members
 * were examined, most of them expired).
 */
export const LIST = new RedisScript(
  'list',
  `
local base, index, start, stop = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, now, budget = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
-- out[1] and out[2] are done and last, filled in before returning (no unpack: pages run to 5000 values).
local out, found, examined, last = {0, ''}, 0, 0, ''
local function reply(done)
  out[1], out[2] = done, last
  return out
end
while true do
  local members = redis.call('ZRANGEBYLEX', base .. index, start, stop, 'LIMIT', 0, 128)
  for _, key in ipairs(members) do
    examined = examined + 1
    last = key
    local r = redis.call('HMGET', base .. 'e:' .. key, 'm', 'f', 's', 'x')
    if r[1] and tonumber(r[4]) > now then
      found = found + 1
      out[#out + 1] = key
      out[#out + 1] = r[1]
      out[#out + 1] = r[2]
      out[#out + 1] = r[3]
      out[#out + 1] = r[4]
      if found == limit then return reply(0) end
    end
    if examined >= budget then return reply(0) end
  end
  if #members < 128 then return reply(1) end
  start = '(' .. members[#members]
end
`,
)

/** KEYS[1] the shard's expiry index. ARGV: base, now, limit. Replies how many entries were dropped. */
export const SWEEP = new RedisScript(
  'sweep',
  `${COMMON}
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(keys) do drop(ARGV[1], key) end
return #keys
`,
)

/** KEYS[1] the shard's key index, KEYS[2] its counters. Replies [entries, bytes]. */
export const STATS = new RedisScript(
  'stats',
  `
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], 'bytes')) or 0}
`,
)
