--[[ retry-dead: move dead letters back to the tail of the queue.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[3]  dead index    (ZSET key -> failedAt ms)
  ARGV     pairs: dead-letter key, replacement body ('' keeps the stored body)
  Returns  how many were moved. Commands: per key HGET, RPUSH, HDEL, ZREM. ]]
if #ARGV % 2 ~= 0 then error({ err = 'ERR errand: retry-dead takes (key, body) pairs' }) end
local moved = 0
for i = 1, #ARGV, 2 do
  local key, body = ARGV[i], ARGV[i + 1]
  local entry = redis.call('HGET', KEYS[2], key)
  if entry then
    if body == '' then body = cjson.decode(entry).body end
    redis.call('RPUSH', KEYS[1], body)
    redis.call('HDEL', KEYS[2], key)
    redis.call('ZREM', KEYS[3], key)
    moved = moved + 1
  end
end
return moved
