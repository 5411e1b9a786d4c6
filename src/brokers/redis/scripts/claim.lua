--[[ claim: lease the messages an idle worker's wait moved into its claim list (its BLMOVE, and
  the LMOVEs behind it that took what was already waiting), under the tokens the worker chose
  for them (see RedisBroker.waitAndLease), dropping wake-up markers claimed so; or, for a wait
  that failed or was aborted, put whatever the list holds back at the queue's head.
  KEYS[1]  claims       (ZSET claim list key -> deadline ms: lists recover.lua empties when late)
  KEYS[2]  claim list   (LIST, `<queue base>:claim:<first token>`: what the wait took, in order)
  KEYS[3]  leases       (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight    (HASH token -> body)
  KEYS[5]  wait list    (LIST of bodies)
  KEYS[6]  expired      (HASH sha1(body) -> deliveries whose lease expired)
  ARGV[1]  token prefix (the n-th message leased, markers skipped, gets prefix .. first + n - 1)
  ARGV[2]  first token number
  ARGV[3]  now (ms)
  ARGV[4]  lease length (ms)
  ARGV[5]  1 when the wait list is Errand's own (an empty body there is a wake-up marker)
  ARGV[6]  'lease', or 'return' (lease nothing: the list goes back to the head of the queue)
  Returns  the delivery number of each message leased, in order (1 unless an earlier lease of it
           expired); empty when nothing was leased: the claim had lapsed (recover.lua put the
           messages back in the queue), it held only markers, or the call was a 'return'.
  Commands: LRANGE, DEL, ZREM; when messages are leased ZADD, HSET, and EXISTS (HMGET and a
  SHA1 per message only while some expired-delivery count is kept); LPUSH on 'return'. ]]
--@include lib/check.lua
local first = count(ARGV[2], 'first token number')
local now = finite(ARGV[3], 'now')
local leaseMs = finite(ARGV[4], 'lease length')
local bodies = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], KEYS[2])
if #bodies == 0 then return {} end
local markers = ARGV[5] == '1'
if ARGV[6] ~= 'lease' then
  -- Back to the head, in order (markers go).
  for i = #bodies, 1, -1 do
    if not (bodies[i] == '' and markers) then redis.call('LPUSH', KEYS[5], bodies[i]) end
  end
  return {}
end
local leases, inflight, shas = {}, {}, {}
local anyExpired = redis.call('EXISTS', KEYS[6]) == 1
for _, body in ipairs(bodies) do
  if not (body == '' and markers) then
    local token = ARGV[1] .. (first + #shas)
    leases[#leases + 1] = now + leaseMs
    leases[#leases + 1] = token
    inflight[#inflight + 1] = token
    inflight[#inflight + 1] = body
    shas[#shas + 1] = anyExpired and redis.sha1hex(body) or ''
  end
end
if #shas == 0 then return {} end
redis.call('ZADD', KEYS[3], unpack(leases))
redis.call('HSET', KEYS[4], unpack(inflight))
local expired = anyExpired and redis.call('HMGET', KEYS[6], unpack(shas)) or {}
local deliveries = {}
for i = 1, #shas do deliveries[i] = (tonumber(expired[i]) or 0) + 1 end
return deliveries
