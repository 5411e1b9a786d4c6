-- Shared by reserve.lua and settle.lua (included at load time): promote due delayed messages,
-- then lease up to `max` waiting ones. Returns { next due ms or '', token1, body1, delivery1, ... }.
-- `markers` is true when the wait list is Errand's own, where an empty body is a wake-up marker;
-- in a foreign list (Gordon's) an empty entry is a producer's entry and is leased like any other.
local function reserveMessages(waitKey, delayedKey, leasesKey, inflightKey, expiredKey, now, max, leaseMs, prefix, n,
  markers)
  local deadline = now + leaseMs
  local head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if head[2] and tonumber(head[2]) <= now then
    local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, 1000)
    redis.call('RPUSH', waitKey, unpack(due))
    redis.call('ZREM', delayedKey, unpack(due))
    head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  end
  local out = { head[2] or '' }
  if max <= 0 then return out end
  local popped = redis.call('LPOP', waitKey, max)
  if not popped then return out end
  -- The expired-delivery counts are keyed by sha1(body): hash the bodies only when some lease
  -- of this queue has expired and not been settled since (rare), not for every message.
  local anyExpired = redis.call('EXISTS', expiredKey) == 1
  local leases, inflight, shas, tokens = {}, {}, {}, {}
  for _, body in ipairs(popped) do
    if body ~= '' or not markers then
      local token = prefix .. n
      n = n + 1
      leases[#leases + 1] = deadline
      leases[#leases + 1] = token
      inflight[#inflight + 1] = token
      inflight[#inflight + 1] = body
      if anyExpired then shas[#shas + 1] = redis.sha1hex(body) end
      tokens[#tokens + 1] = token
    end
  end
  if #tokens == 0 then return out end
  redis.call('ZADD', leasesKey, unpack(leases))
  redis.call('HSET', inflightKey, unpack(inflight))
  local expired = anyExpired and redis.call('HMGET', expiredKey, unpack(shas)) or {}
  for i, token in ipairs(tokens) do
    out[#out + 1] = token
    out[#out + 1] = inflight[2 * i]
    out[#out + 1] = (tonumber(expired[i]) or 0) + 1
  end
  return out
end
