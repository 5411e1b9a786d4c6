--[[ write-results: store task records and announce the final ones, in one call.
  KEYS[1..N]  result keys (<prefix>:result:<id>), one per record
  ARGV[1]     time to live (ms)
  ARGV[2]     notification channel (<prefix>:final)
  ARGV[3..N+2] one per key: the record JSON, prefixed by '1' if final (SUCCESS, FAILURE) or '0'
  Returns     the number of records written.
  Commands: one SET ... PX per record, one PUBLISH (newline-separated ids) when any is final.
  Result keys are per task id, so they hash to many slots: on Redis Cluster each key would be
  written with its own SET instead. ]]
local ttl = ARGV[1]
local finals = {}
for i, key in ipairs(KEYS) do
  local value = ARGV[i + 2]
  redis.call('SET', key, string.sub(value, 2), 'PX', ttl)
  if string.sub(value, 1, 1) == '1' then
    finals[#finals + 1] = cjson.decode(string.sub(value, 2)).id
  end
end
if #finals > 0 then redis.call('PUBLISH', ARGV[2], table.concat(finals, '\n')) end
return #KEYS
