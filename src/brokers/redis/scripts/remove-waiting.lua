--[[ remove-waiting: delete exact bodies from the waiting list or the delayed set (cancel before a run).
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  delayed set   (ZSET body -> due ms)
  ARGV[1..] bodies to remove
  Returns  the bodies that were removed, in ARGV order (a body in neither, e.g. leased, is left out).
  Commands per body: LREM count 1; when that removed nothing, ZREM. One script, so a body that
  a reserve promotes from delayed to waiting cannot slip between the two. ]]
local removed = {}
for i = 1, #ARGV do
  local body = ARGV[i]
  if redis.call('LREM', KEYS[1], 1, body) > 0 or redis.call('ZREM', KEYS[2], body) > 0 then
    removed[#removed + 1] = body
  end
end
return removed
