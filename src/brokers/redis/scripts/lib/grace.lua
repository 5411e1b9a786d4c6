-- Lease grace after a silence (included at load time; see src/brokers/lease-grace.ts). Every
-- reserve (recover.lua) and extend records when it reached the queue, on Redis's own clock. A call
-- that finds the queue silent for longer than `fraction` of its lease first gives every lease
-- that expired during the silence one more lease, so holders renew before anyone recovers.
-- clock: HASH { at = Redis time ms of the last call, now = that caller's now }.
-- Commands: TIME, HMGET, HSET; after a silence ZRANGEBYSCORE and ZADD XX on the leases.
local function graceAfterSilence(clockKey, leasesKey, now, leaseMs, fraction)
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local last = redis.call('HMGET', clockKey, 'at', 'now')
  redis.call('HSET', clockKey, 'at', string.format('%d', at), 'now', string.format('%d', now))
  local lastAt, lastNow = tonumber(last[1]), tonumber(last[2])
  if lastAt == nil or lastNow == nil or at - lastAt <= leaseMs * fraction then return 0 end
  local expired = redis.call('ZRANGEBYSCORE', leasesKey, '(' .. string.format('%d', lastNow), now)
  local deadline = string.format('%d', now + leaseMs)
  for i = 1, #expired, 1000 do
    local update = {}
    for j = i, math.min(i + 999, #expired) do
      update[#update + 1] = deadline
      update[#update + 1] = expired[j]
    end
    redis.call('ZADD', leasesKey, 'XX', unpack(update))
  end
  return #expired
end
