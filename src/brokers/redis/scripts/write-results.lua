--[[ write-results: store task records and announce the final ones, in one call.
  KEYS[1..N]   result keys (<prefix>:result:<id>), one per record
  ARGV[1]      time to live (ms)
  ARGV[2]      notification channel (<prefix>:final)
  ARGV[3]      ids of the records in a final state (SUCCESS, FAILURE), newline-separated ('' for none)
  ARGV[4..N+3] the record JSON, one per key
  Returns      the number of records written.
  Commands: one SET ... PX per record, one PUBLISH when any is final.
  Result keys are per task id, so they hash to many slots: on Redis Cluster each key would be
  written with its own SET instead. ]]
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 3], 'PX', ttl)
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return #KEYS
