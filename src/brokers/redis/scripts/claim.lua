--[[ claim: lease the message an idle worker's BLMOVE moved into its claim list, under the token
  the worker chose for it (see RedisBroker.waitAndLease), or drop a wake-up marker claimed so;
  or, for a wait that failed or was aborted, put whatever the list holds back at the queue's head.
  KEYS[1]  claims       (ZSET claim list key -> deadline ms: lists recover.lua empties when late)
  KEYS[2]  claim list   (LIST, `<queue base>:claim:<token>`: what the BLMOVE took, normally one body)
  KEYS[3]  leases       (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight    (HASH token -> body)
  KEYS[5]  wait list    (LIST of bodies: anything beyond the first body goes back to its head)
  KEYS[6]  expired      (HASH sha1(body) -> deliveries whose lease expired)
  ARGV[1]  token
  ARGV[2]  now (ms)
  ARGV[3]  lease length (ms)
  ARGV[4]  1 when the wait list is Errand's own (an empty body there is a wake-up marker)
  ARGV[5]  'lease', or 'return' (lease nothing: the list goes back to the head of the queue)
  Returns  the delivery number of the leased message (1 unless an earlier lease of it expired),
           or 0 when nothing was leased: the claim had lapsed (recover.lua put the message back
           in the queue), it held a marker, or the call was a 'return'.
  Commands: LRANGE, DEL, ZREM; when a message is leased ZADD, HSET, and EXISTS (HGET and a
  SHA1 only while some expired-delivery count is kept). ]]
--@include lib/check.lua
local now = finite(ARGV[2], 'now')
local leaseMs = finite(ARGV[3], 'lease length')
local bodies = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], KEYS[2])
if #bodies == 0 then return 0 end
local markers = ARGV[4] == '1'
local delivery, rest = 0, 1
if ARGV[5] == 'lease' and not (bodies[1] == '' and markers) then
  local body = bodies[1]
  redis.call('ZADD', KEYS[3], now + leaseMs, ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], body)
  delivery = 1
  if redis.call('EXISTS', KEYS[6]) == 1 then
    delivery = (tonumber(redis.call('HGET', KEYS[6], redis.sha1hex(body))) or 0) + 1
  end
  rest = 2
end
-- Anything not leased goes back to the head, in order (a BLMOVE moves one entry; markers go).
for i = #bodies, rest, -1 do
  if not (bodies[i] == '' and markers) then redis.call('LPUSH', KEYS[5], bodies[i]) end
end
return delivery
