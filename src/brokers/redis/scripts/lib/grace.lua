-- Lease grace after a silence (included at load time; the same rule as observe() in
-- src/brokers/lease-grace.ts). Every reserve (recover.lua) and extend records when it reached the
-- queue, on Redis's own clock. A call that finds the queue silent for longer than `fraction` of
-- its lease first moves every lease that expired during the silence one lease past the current
-- caller time, so holders renew before anyone recovers. Calls queued during a hang carry a `now`
-- from before it: the caller time is estimated as max(now, last caller time + silence).
-- clock: HASH { at = Redis time ms of the last call, now = the latest caller time seen }.
-- Returns the caller time to use from here on. Commands: TIME, HMGET, HSET; after a silence
-- ZRANGEBYSCORE and ZADD XX on the leases.
local function graceAfterSilence(clockKey, leasesKey, now, leaseMs, fraction)
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local last = redis.call('HMGET', clockKey, 'at', 'now')
  local lastAt, lastNow = tonumber(last[1]), tonumber(last[2])
  if lastAt == nil or lastNow == nil then
    redis.call('HSET', clockKey, 'at', string.format('%d', at), 'now', string.format('%d', now))
    return now
  end
  local gap = at - lastAt
  local current = math.max(now, lastNow + math.max(0, gap))
  local silent = gap > leaseMs * fraction
  local seenNow = silent and current or math.max(now, lastNow)
  redis.call('HSET', clockKey, 'at', string.format('%d', math.max(at, lastAt)), 'now', string.format('%d', seenNow))
  if not silent then return now end
  local expired = redis.call('ZRANGEBYSCORE', leasesKey, '(' .. string.format('%d', lastNow), current)
  local deadline = string.format('%d', current + leaseMs)
  for i = 1, #expired, 1000 do
    local update = {}
    for j = i, math.min(i + 999, #expired) do
      update[#update + 1] = deadline
      update[#update + 1] = expired[j]
    end
    redis.call('ZADD', leasesKey, 'XX', unpack(update))
  end
  return now
end
