--[[ purge-dead: delete dead letters (all of them when no key is given).
  KEYS[1]  dead letters  (HASH key -> JSON)
  KEYS[2]  dead index    (ZSET key -> failedAt ms)
  ARGV     keys to delete; none means all
  Returns  how many were deleted. Commands: ZCARD and DEL (all), or HDEL and ZREM (some). ]]
if #ARGV == 0 then
  local n = redis.call('ZCARD', KEYS[2])
  redis.call('DEL', KEYS[1], KEYS[2])
  return n
end
local n = redis.call('HDEL', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
return n
