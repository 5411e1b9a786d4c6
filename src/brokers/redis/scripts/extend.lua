--[[ extend: push lease deadlines of held tokens forward.
  KEYS[1]  leases  (ZSET token -> lease deadline ms)
  ARGV[1]  new deadline (ms)
  ARGV[2..] tokens
  Returns  the tokens no longer held (their lease expired and was recovered, or was settled).
  Commands: ZMSCORE, ZADD XX. ]]
local tokens = {}
for i = 2, #ARGV do tokens[#tokens + 1] = ARGV[i] end
local held = redis.call('ZMSCORE', KEYS[1], unpack(tokens))
local lost, update = {}, {}
for i, token in ipairs(tokens) do
  if held[i] then
    update[#update + 1] = ARGV[1]
    update[#update + 1] = token
  else
    lost[#lost + 1] = token
  end
end
if #update > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(update)) end
return lost
