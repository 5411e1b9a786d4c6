--[[ recover: return messages whose lease expired to the head of the queue, or bury them in the
  dead letters once they were delivered maxDeliveries times without finishing.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  leases        (ZSET token -> lease deadline ms)
  KEYS[3]  in-flight     (HASH token -> body)
  KEYS[4]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  KEYS[5]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[6]  dead index    (ZSET key -> failedAt ms)
  ARGV[1]  now (ms)
  ARGV[2]  max deliveries
  ARGV[3]  dead letters kept at most
  Returns  { number of messages recovered (requeued or buried), then for each one buried:
           key, body, reason }
  Commands when nothing expired: one ZRANGEBYSCORE. ]]
local now = tonumber(ARGV[1])
local maxDeliveries = tonumber(ARGV[2])
local tokens = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 500)
if #tokens == 0 then return { 0 } end
local bodies = redis.call('HMGET', KEYS[3], unpack(tokens))
local requeue = {}
local out = { #tokens }
for i = #tokens, 1, -1 do
  local body = bodies[i]
  if body then
    local sha = redis.sha1hex(body)
    local count = redis.call('HINCRBY', KEYS[4], sha, 1)
    if count >= maxDeliveries then
      local key = tokens[i]
      local reason = 'delivered ' .. count .. ' times without finishing'
      redis.call('HSET', KEYS[5], key, cjson.encode({ key = key, body = body, reason = reason, failedAt = now }))
      redis.call('ZADD', KEYS[6], now, key)
      redis.call('HDEL', KEYS[4], sha)
      out[#out + 1] = key
      out[#out + 1] = body
      out[#out + 1] = reason
    else
      requeue[#requeue + 1] = body
    end
  end
end
-- oldest lease first at the head: LPUSH reverses, so push newest first
if #requeue > 0 then redis.call('LPUSH', KEYS[1], unpack(requeue)) end
redis.call('ZREM', KEYS[2], unpack(tokens))
redis.call('HDEL', KEYS[3], unpack(tokens))
local extra = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[3])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[6], 0, extra - 1)
  redis.call('HDEL', KEYS[5], unpack(old))
  redis.call('ZREM', KEYS[6], unpack(old))
end
return out
