--[[ reserve: lease up to N waiting messages, promoting delayed messages that are due first.
  KEYS[1]  wait list     (LIST of bodies)
  KEYS[2]  delayed set   (ZSET body -> due ms)
  KEYS[3]  leases        (ZSET token -> lease deadline ms)
  KEYS[4]  in-flight     (HASH token -> body)
  KEYS[5]  expired       (HASH sha1(body) -> deliveries whose lease expired)
  ARGV[1]  now (ms)
  ARGV[2]  max messages
  ARGV[3]  lease length (ms)
  ARGV[4]  token prefix `<host>:<pid>:<random>/` (unique per worker; tokens are prefix .. n, fencing each delivery)
  ARGV[5]  first token number
  ARGV[6]  1 when the wait list is Errand's own (empty bodies there are wake-up markers, skipped)
  Returns  { next due ms or '', token1, body1, delivery1, token2, ... }
  Commands per call: ZRANGE (next due), LPOP; when messages were leased EXISTS, ZADD, HSET, and
  HMGET (with a SHA1 per body) only while some expired-delivery count is kept;
  when delayed messages are due ZRANGEBYSCORE, RPUSH, ZREM. ]]
--@include lib/check.lua
--@include lib/reserve.lua
return reserveMessages(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], finite(ARGV[1], 'now'),
  count(ARGV[2], 'max messages'), finite(ARGV[3], 'lease length'), ARGV[4], count(ARGV[5], 'first token number'),
  ARGV[6] == '1')
