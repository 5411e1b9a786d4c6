--[[ extend: push lease deadlines of held tokens forward. A lease is held until it is settled or
  recovered: one that expired but was not recovered yet is renewed too.
  KEYS[1]  leases  (ZSET token -> lease deadline ms)
  KEYS[2]  clock   (HASH: when a reserve or extend last reached the queue; see lib/grace.lua)
  ARGV[1]  now (ms, caller's clock)
  ARGV[2]  lease length (ms): the new deadline is now + lease
  ARGV[3]  the fraction of the lease that counts as a silence (lib/grace.lua)
  ARGV[4..] tokens
  Returns  the tokens no longer held (their lease was recovered, or was settled).
  Commands: TIME, HMGET, HSET (clock), ZMSCORE, ZADD XX GT (Redis 6.2+, as BLMOVE). ]]
--@include lib/check.lua
--@include lib/grace.lua
local now = finite(ARGV[1], 'now')
local leaseMs = finite(ARGV[2], 'lease length')
local fraction = finite(ARGV[3], 'silence fraction')
local tokens = {}
for i = 4, #ARGV do tokens[#tokens + 1] = ARGV[i] end
graceAfterSilence(KEYS[2], KEYS[1], now, leaseMs, fraction)
if #tokens == 0 then return {} end
local held = redis.call('ZMSCORE', KEYS[1], unpack(tokens))
local lost, update = {}, {}
local deadline = string.format('%d', now + leaseMs)
for i, token in ipairs(tokens) do
  if held[i] then
    update[#update + 1] = deadline
    update[#update + 1] = token
  else
    lost[#lost + 1] = token
  end
end
-- GT: a lease is never shortened (a heartbeat queued during a hang must not undo the grace).
if #update > 0 then redis.call('ZADD', KEYS[1], 'XX', 'GT', unpack(update)) end
return lost
