--[[ settle: apply the outcomes of leased messages in one step, and optionally lease the next
  messages (see lib/reserve.lua). Tokens no longer leased are reported back and their outcome is
  dropped (the message was redelivered to someone else).
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  delayed set   (ZSET body -> due ms)
  KEYS[3]  leases        (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight     (HASH token -> body)
  KEYS[5]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  KEYS[6]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[7]  dead index    (ZSET key -> failedAt ms)
  KEYS[8..7+N] result keys (<prefix>:result:<id>) of N task records written in the same step
           (optional: the result backend's write riding on the settle, one round trip for both)
  ARGV[1]  now (ms)
  ARGV[2]  dead letters kept at most
  ARGV[3..7] counts: A acks, R retries, D dead letters, L releases, S expired-count shas to clear
  then     A tokens; R triples (token, new body, due ms); D triples (token, body or '' for the
           stored one, reason); L tokens; S sha1s of bodies whose expired-delivery count to forget
  then, optionally, five values to lease the next messages in the same step:
           max messages, lease length (ms), token prefix, first token number, 1 when the wait
           list is Errand's own (empty bodies there are wake-up markers)
  then, when N > 0, the records as write-results.lua takes them: time to live (ms), notification
           channel, ids of the final records ('\n'-separated, '' for none), N record JSONs
  Returns  { number of lost tokens, lost tokens..., then reserve's reply when asked }
  Commands per batch: ZREM, HDEL; HMGET only when a lease was lost; HDEL expired, ZADD delayed,
  LPUSH wait and dead-letter writes only when the batch has such entries; per record SET PX, and
  one PUBLISH when a record is final. Result keys lie outside the queue's hash slot: on Redis
  Cluster the records are written by write-results.lua instead. ]]
--@include lib/check.lua
--@include lib/reserve.lua
-- Every input is checked before the first write (ZREM below): a bad one fails the whole batch
-- and changes nothing, so no message is taken out of one structure without reaching another.
local now = finite(ARGV[1], 'now')
local keep = count(ARGV[2], 'dead letters kept')
local nA, nR, nD = count(ARGV[3], 'acks'), count(ARGV[4], 'retries'), count(ARGV[5], 'dead letters')
local nL, nS = count(ARGV[6], 'releases'), count(ARGV[7], 'shas')
local a0 = 8
local r0 = a0 + nA
local d0 = r0 + 3 * nR
local l0 = d0 + 3 * nD
local s0 = l0 + nL
local e0 = s0 + nS
local nRec = #KEYS - 7
local w0 = #ARGV - nRec - 2 -- first of the records section (time to live) when nRec > 0
local nArgs = nRec > 0 and w0 - 1 or #ARGV
if nArgs ~= e0 - 1 and nArgs ~= e0 + 4 then
  error({ err = 'ERR errand: settle got ' .. #ARGV .. ' arguments for its counts' })
end
local ttl
if nRec > 0 then
  ttl = count(ARGV[w0], 'time to live')
  if ttl < 1 then error({ err = 'ERR errand: time to live must be at least 1 ms' }) end
end
for i = r0, d0 - 1, 3 do finite(ARGV[i + 2], 'retry due time') end
local reserveMax, reserveLease, reserveFirst
local reserving = nArgs == e0 + 4
if reserving then
  reserveMax = count(ARGV[e0], 'max messages')
  reserveLease = finite(ARGV[e0 + 1], 'lease length')
  reserveFirst = count(ARGV[e0 + 3], 'first token number')
end

local tokens = {}
for i = a0, r0 - 1 do tokens[#tokens + 1] = ARGV[i] end
for i = r0, d0 - 1, 3 do tokens[#tokens + 1] = ARGV[i] end
for i = d0, l0 - 1, 3 do tokens[#tokens + 1] = ARGV[i] end
for i = l0, s0 - 1 do tokens[#tokens + 1] = ARGV[i] end
local count = #tokens

-- Leases and in-flight entries are always removed together, so when ZREM removes fewer tokens
-- than given, the in-flight hash tells which ones were still held.
local isHeld = nil
if count > 0 and redis.call('ZREM', KEYS[3], unpack(tokens)) < count then
  local bodies = redis.call('HMGET', KEYS[4], unpack(tokens))
  isHeld = {}
  for i, token in ipairs(tokens) do isHeld[token] = bodies[i] ~= false end
end
local function held(token) return isHeld == nil or isHeld[token] end

local lost = {}
for _, token in ipairs(tokens) do
  if not held(token) then lost[#lost + 1] = token end
end

local delayed = {}
for i = r0, d0 - 1, 3 do
  if held(ARGV[i]) then
    delayed[#delayed + 1] = ARGV[i + 2]
    delayed[#delayed + 1] = ARGV[i + 1]
  end
end
local buried = false
for i = d0, l0 - 1, 3 do
  local token, body, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if held(token) then
    if body == '' then body = redis.call('HGET', KEYS[4], token) end
    redis.call('HSET', KEYS[6], token, cjson.encode({ key = token, body = body, reason = reason, failedAt = now }))
    redis.call('ZADD', KEYS[7], now, token)
    buried = true
  end
end
local release = {}
for i = l0, s0 - 1 do
  if held(ARGV[i]) then release[#release + 1] = ARGV[i] end
end
if #release > 0 then
  local bodies = redis.call('HMGET', KEYS[4], unpack(release))
  local push = {}
  for i = #bodies, 1, -1 do push[#push + 1] = bodies[i] end
  redis.call('LPUSH', KEYS[1], unpack(push))
end
if count > #lost then
  local remove = {}
  for _, token in ipairs(tokens) do
    if held(token) then remove[#remove + 1] = token end
  end
  redis.call('HDEL', KEYS[4], unpack(remove))
end
if nS > 0 then redis.call('HDEL', KEYS[5], unpack(ARGV, s0, e0 - 1)) end
if #delayed > 0 then redis.call('ZADD', KEYS[2], unpack(delayed)) end
if buried then
  local extra = redis.call('ZCARD', KEYS[7]) - keep
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[7], 0, extra - 1)
    redis.call('HDEL', KEYS[6], unpack(old))
    redis.call('ZREM', KEYS[7], unpack(old))
  end
end

if nRec > 0 then
  local px = string.format('%d', ttl)
  for i = 1, nRec do redis.call('SET', KEYS[7 + i], ARGV[w0 + 2 + i], 'PX', px) end
  if ARGV[w0 + 2] ~= '' then redis.call('PUBLISH', ARGV[w0 + 1], ARGV[w0 + 2]) end
end

local out = { #lost }
for _, token in ipairs(lost) do out[#out + 1] = token end
if reserving then
  local reserved = reserveMessages(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], now, reserveMax,
    reserveLease, ARGV[e0 + 2], reserveFirst, ARGV[e0 + 4] == '1')
  for _, v in ipairs(reserved) do out[#out + 1] = v end
end
return out
