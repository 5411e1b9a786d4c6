--[[ reserve: lease up to N waiting messages, promoting delayed messages that are due first.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  delayed set   (ZSET body -> due ms)
  KEYS[3]  leases        (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight     (HASH token -> body)
  KEYS[5]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  ARGV[1]  now (ms)
  ARGV[2]  max messages
  ARGV[3]  lease length (ms)
  ARGV[4]  token prefix (unique per worker; tokens are prefix .. n, fencing each delivery)
  ARGV[5]  first token number
  Returns  { next due ms or '', token1, body1, delivery1, token2, ... }
  Commands per call: ZRANGE (next due), LPOP; when messages were leased ZADD, HSET, HMGET;
  when delayed messages are due ZRANGEBYSCORE, RPUSH, ZREM. Empty bodies are wake-up markers. ]]
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local deadline = now + tonumber(ARGV[3])
local prefix, n = ARGV[4], tonumber(ARGV[5])

local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if head[2] and tonumber(head[2]) <= now then
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
  redis.call('RPUSH', KEYS[1], unpack(due))
  redis.call('ZREM', KEYS[2], unpack(due))
  head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
end
local out = { head[2] or '' }

local popped = redis.call('LPOP', KEYS[1], max)
if not popped then return out end
local leases, inflight, shas, tokens = {}, {}, {}, {}
for _, body in ipairs(popped) do
  if body ~= '' then
    local token = prefix .. n
    n = n + 1
    leases[#leases + 1] = deadline
    leases[#leases + 1] = token
    inflight[#inflight + 1] = token
    inflight[#inflight + 1] = body
    shas[#shas + 1] = redis.sha1hex(body)
    tokens[#tokens + 1] = token
  end
end
if #tokens == 0 then return out end
redis.call('ZADD', KEYS[3], unpack(leases))
redis.call('HSET', KEYS[4], unpack(inflight))
local expired = redis.call('HMGET', KEYS[5], unpack(shas))
for i, token in ipairs(tokens) do
  out[#out + 1] = token
  out[#out + 1] = inflight[2 * i]
  out[#out + 1] = (tonumber(expired[i]) or 0) + 1
end
return out
