--[[ recover: return messages whose lease expired to the head of the queue, or bury them in the
  dead letters once they were delivered maxDeliveries times without finishing.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  leases        (ZSET token -> lease deadline ms)
  KEYS[3]  in-flight     (HASH token -> body)
  KEYS[4]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  KEYS[5]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[6]  dead index    (ZSET key -> failedAt ms)
  KEYS[7]  clock         (HASH: when a reserve or extend last reached the queue; lib/grace.lua)
  ARGV[1]  now (ms)
  ARGV[2]  max deliveries
  ARGV[3]  dead letters kept at most
  ARGV[4]  lease length of the caller (ms), for the grace after a silence
  ARGV[5]  the fraction of the lease that counts as a silence
  Returns  { number of messages recovered (requeued or buried), then for each one buried:
           key, body, reason }
  Commands when nothing expired: TIME, HMGET, HSET (clock), one ZRANGEBYSCORE; after a silence,
  the grace's ZRANGEBYSCORE and ZADD XX first. ]]
--@include lib/check.lua
--@include lib/grace.lua
local now = finite(ARGV[1], 'now')
local maxDeliveries = count(ARGV[2], 'max deliveries')
local keep = count(ARGV[3], 'dead letters kept')
local leaseMs = finite(ARGV[4], 'lease length')
local fraction = finite(ARGV[5], 'silence fraction')
graceAfterSilence(KEYS[7], KEYS[2], now, leaseMs, fraction)
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
local extra = redis.call('ZCARD', KEYS[6]) - keep
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[6], 0, extra - 1)
  redis.call('HDEL', KEYS[5], unpack(old))
  redis.call('ZREM', KEYS[6], unpack(old))
end
return out
