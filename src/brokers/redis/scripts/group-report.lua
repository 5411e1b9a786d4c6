--[[ group-report: record one member of a workflow group, atomically (exactly-once counting).
  KEYS[1]   the group's hash (<prefix>:group:<group id>): field <index> = result JSON, field 'failed'
  ARGV[1]   'ok' (member succeeded) or 'fail' (member failed for good)
  ARGV[2]   group size (members)
  ARGV[3]   member index (0-based)
  ARGV[4]   time to live (ms), renewed on every call
  ARGV[5]   the member's result JSON (for 'ok')
  Returns   {'open'} | {'failed'} | {'complete', {index1, value1, index2, value2, ...}}
  A member reported twice (a redelivery) is counted once (HSETNX). Once failed, never complete;
  once complete, never failed. 'complete' is returned to every call after completion, so a
  caller that crashed after completing can finish (follow-ups are deduplicated by id).
  Commands: HEXISTS, HSETNX or HSET, HLEN, PEXPIRE, HGETALL. ]]
--@include lib/check.lua
local size = count(ARGV[2], 'group size')
local index = count(ARGV[3], 'member index')
local ttl = count(ARGV[4], 'time to live')
if size < 1 or index >= size or ttl < 1 then
  error({ err = 'ERR errand: group-report needs size >= 1, index < size, ttl >= 1' })
end
local key = KEYS[1]
local failed = redis.call('HEXISTS', key, 'failed') == 1
local recorded = redis.call('HLEN', key) - (failed and 1 or 0)
if ARGV[1] == 'ok' then
  if not failed then
    recorded = recorded + redis.call('HSETNX', key, ARGV[3], ARGV[5])
  end
elseif ARGV[1] == 'fail' then
  if not failed and recorded < size then
    redis.call('HSET', key, 'failed', '1')
    failed = true
  end
else
  error({ err = 'ERR errand: group-report outcome must be ok or fail' })
end
redis.call('PEXPIRE', key, string.format('%d', ttl))
if failed then return { 'failed' } end
if recorded < size then return { 'open' } end
return { 'complete', redis.call('HGETALL', key) }
