--[[ settle: apply the outcomes of leased messages in one step. Tokens no longer leased are
  reported back and their outcome is dropped (the message was redelivered to someone else).
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  delayed set   (ZSET body -> due ms)
  KEYS[3]  leases        (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight     (HASH token -> body)
  KEYS[5]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  KEYS[6]  dead letters  (HASH key -> JSON {key, body, reason, failedAt})
  KEYS[7]  dead index    (ZSET key -> failedAt ms)
  ARGV[1]  now (ms)
  ARGV[2]  dead letters kept at most
  ARGV[3]  number of entries E; then E groups of five values:
           kind ('a' ack, 'r' retry, 'd' dead letter, 'l' release), token, body (retry: new body;
           dead: stored body; else ''), due ms (retry) or reason (dead) or '', sha1 of the old body
           to clear its expired-delivery count ('' when it had none)
  then, optionally, four values to lease the next messages in the same step (see reserve.lua):
           max messages, lease length (ms), token prefix, first token number
  Returns  { L, lost token 1 .. L, then reserve's reply when asked: next due, token, body, delivery, ... }
  Commands per batch: ZREM, HDEL (+ reserve's when asked); plus HMGET when some token was no longer leased, and HDEL
  expired / ZADD delayed / LPUSH wait / dead-letter writes only when the batch has such entries. ]]
--@include lib/reserve.lua
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[3])
local tokens = {}
for i = 0, count - 1 do tokens[#tokens + 1] = ARGV[4 + i * 5 + 1] end
-- Leases and in-flight entries are always removed together, so when ZREM removes fewer
-- tokens than given, the in-flight hash tells which ones were still held.
local held = nil
if count > 0 and redis.call('ZREM', KEYS[3], unpack(tokens)) < count then
  held = redis.call('HMGET', KEYS[4], unpack(tokens))
end
local lost, remove, shas, delayed, release = {}, {}, {}, {}, {}
local buried = false
for i = 0, count - 1 do
  local base = 4 + i * 5
  local kind, token, body, arg, sha = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  if held and not held[i + 1] then
    lost[#lost + 1] = token
  else
    remove[#remove + 1] = token
    if sha ~= '' then shas[#shas + 1] = sha end
    if kind == 'r' then
      delayed[#delayed + 1] = arg
      delayed[#delayed + 1] = body
    elseif kind == 'd' then
      if body == '' then body = redis.call('HGET', KEYS[4], token) end
      redis.call('HSET', KEYS[6], token, cjson.encode({ key = token, body = body, reason = arg, failedAt = now }))
      redis.call('ZADD', KEYS[7], now, token)
      buried = true
    elseif kind == 'l' then
      release[#release + 1] = token
    end
  end
end
if #release > 0 then
  local bodies = redis.call('HMGET', KEYS[4], unpack(release))
  local push = {}
  for i = #bodies, 1, -1 do push[#push + 1] = bodies[i] end
  redis.call('LPUSH', KEYS[1], unpack(push))
end
if #remove > 0 then redis.call('HDEL', KEYS[4], unpack(remove)) end
if #shas > 0 then redis.call('HDEL', KEYS[5], unpack(shas)) end
if #delayed > 0 then redis.call('ZADD', KEYS[2], unpack(delayed)) end
if buried then
  local extra = redis.call('ZCARD', KEYS[7]) - tonumber(ARGV[2])
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[7], 0, extra - 1)
    redis.call('HDEL', KEYS[6], unpack(old))
    redis.call('ZREM', KEYS[7], unpack(old))
  end
end
local out = { #lost }
for _, token in ipairs(lost) do out[#out + 1] = token end
local r = 4 + count * 5
if ARGV[r] then
  local reserved = reserveMessages(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], now, tonumber(ARGV[r]),
    tonumber(ARGV[r + 1]), ARGV[r + 2], tonumber(ARGV[r + 3]))
  for _, v in ipairs(reserved) do out[#out + 1] = v end
end
return out
