--[[ recover: return messages whose lease expired to the head of the queue, or bury them in the
  dead letters once they were delivered maxDeliveries times without finishing.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  leases        (ZSET token -> lease deadline ms)
  KEYS[3]  in-flight     (HASH token -> body)
  KEYS[4]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  KEYS[5]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[6]  dead index    (ZSET key -> failedAt ms)
  KEYS[7]  clock         (HASH: when a reserve or extend last reached the queue; lib/grace.lua)
  KEYS[8]  claims        (ZSET claim list key -> deadline ms; see claim.lua. The claim lists
           themselves, `<queue base>:claim:<token>`, are read from it: same hash slot, not in KEYS)
  ARGV[1]  now (ms)
  ARGV[2]  max deliveries
  ARGV[3]  dead letters kept at most
  ARGV[4]  lease length of the caller (ms), for the grace after a silence
  ARGV[5]  the fraction of the lease that counts as a silence
  ARGV[6]  1 when the wait list is Errand's own (a claimed empty body there is a wake-up marker, dropped)
  A claim list past its deadline belongs to a worker that took messages with its wait (BLMOVE,
  LMOVEs) and never leased them (killed in between, or its connection failed): each counts as a
  delivery whose lease expired, like any other (a message that kills every worker still reaches
  the dead letters; keyed `<first token>`, `<first token>+1`, ...), and they go back to the head
  of the queue, in order.
  Returns  { number of messages recovered (requeued or buried), then for each one buried:
           key, body, reason }
  Commands when nothing expired: TIME, HMGET, HSET (clock), two ZRANGEBYSCORE; after a silence,
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
local claims = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now, 'LIMIT', 0, 100)
if #tokens == 0 and #claims == 0 then return { 0 } end
-- (key, body) of each message to recover: expired leases newest first, then lapsed claims.
local found = {}
if #tokens > 0 then
  local bodies = redis.call('HMGET', KEYS[3], unpack(tokens))
  for i = #tokens, 1, -1 do
    if bodies[i] then found[#found + 1] = { tokens[i], bodies[i] } end
  end
  redis.call('ZREM', KEYS[2], unpack(tokens))
  redis.call('HDEL', KEYS[3], unpack(tokens))
end
for _, claim in ipairs(claims) do
  local key = string.match(claim, ':claim:(.*)$') or claim
  local bodies = redis.call('LRANGE', claim, 0, -1)
  for i = #bodies, 1, -1 do -- newest first, like the expired leases (see the LPUSH below)
    local body = bodies[i]
    if body ~= '' or ARGV[6] ~= '1' then found[#found + 1] = { i == 1 and key or key .. '+' .. (i - 1), body } end
  end
  redis.call('DEL', claim)
end
if #claims > 0 then redis.call('ZREM', KEYS[8], unpack(claims)) end
local requeue = {}
local out = { #found }
for _, entry in ipairs(found) do
  local key, body = entry[1], entry[2]
  local sha = redis.sha1hex(body)
  local count = redis.call('HINCRBY', KEYS[4], sha, 1)
  if count >= maxDeliveries then
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
-- oldest first at the head: LPUSH reverses, so push newest first (claimed ones were the oldest)
if #requeue > 0 then redis.call('LPUSH', KEYS[1], unpack(requeue)) end
local extra = redis.call('ZCARD', KEYS[6]) - keep
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[6], 0, extra - 1)
  redis.call('HDEL', KEYS[5], unpack(old))
  redis.call('ZREM', KEYS[6], unpack(old))
end
return out
