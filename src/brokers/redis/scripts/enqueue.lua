--[[ enqueue: put messages on a queue (waiting, or delayed until due), once per dedupe key.
  KEYS[1]  wait list          (LIST of message bodies, consumed from the head)
  KEYS[2]  delayed set        (ZSET body -> due time ms)
  KEYS[3..] dedupe keys, one per entry that has a dedupe key, in entry order
  ARGV[1]  now (ms)
  ARGV[2]  dedupe ttl (ms)
  ARGV[3]  1 when the wait list is Errand's own, so an empty wake-up marker may be pushed to it
  ARGV[4..] per entry, three values: body, due time ms ('' = now), has dedupe key ('1' or '0')
  Returns  one integer per entry: 1 queued, 0 duplicate.
  Commands: one RPUSH and one ZADD per batch (chunked), one SET NX per dedupe key; when a delayed
  message becomes the earliest one, one LPUSH of the marker '' so that blocked workers wake and
  re-read the next due time (markers are skipped by reserve). Every due time is checked before
  the first write: a bad one fails the whole call and nothing is enqueued. ]]
--@include lib/check.lua
local now = finite(ARGV[1], 'now')
local ttl = ARGV[2]
local native = ARGV[3] == '1'
if (#ARGV - 3) % 3 ~= 0 then error({ err = 'ERR errand: enqueue takes (body, due, dedupe) triples' }) end
for i = 4, #ARGV, 3 do
  if ARGV[i + 1] ~= '' then finite(ARGV[i + 1], 'due time') end
  if ARGV[i + 2] == '1' then count(ttl, 'dedupe ttl') end
end
local out, push, delay = {}, {}, {}
local dedupeIndex = 3
for i = 4, #ARGV, 3 do
  local body, due, dedupe = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ok = true
  if dedupe == '1' then
    ok = redis.call('SET', KEYS[dedupeIndex], '1', 'NX', 'PX', ttl) ~= false
    dedupeIndex = dedupeIndex + 1
  end
  if ok then
    local dueAt = tonumber(due)
    if dueAt and dueAt > now then
      delay[#delay + 1] = dueAt
      delay[#delay + 1] = body
    else
      push[#push + 1] = body
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
for i = 1, #push, 4000 do
  redis.call('RPUSH', KEYS[1], unpack(push, i, math.min(i + 3999, #push)))
end
if #delay > 0 then
  local earliest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
  local newEarliest = math.huge
  for i = 1, #delay, 2 do newEarliest = math.min(newEarliest, delay[i]) end
  for i = 1, #delay, 4000 do
    redis.call('ZADD', KEYS[2], unpack(delay, i, math.min(i + 3999, #delay)))
  end
  if native and #push == 0 and (earliest == nil or newEarliest < tonumber(earliest)) then
    redis.call('LPUSH', KEYS[1], '')
  end
end
return out
