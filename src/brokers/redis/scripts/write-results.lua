--[[ write-results: store task records and announce the final ones, in one call.
  KEYS[1..N]   result keys (<prefix>:result:<id>), one per record
  ARGV[1]      time to live (ms)
  ARGV[2]      notification channel (<prefix>:final)
  ARGV[3]      ids of the records in a final state (SUCCESS, FAILURE), newline-separated ('' for none)
  ARGV[4..N+3] the record JSON, one per key
  Returns      the number of records written.
  Commands: one SET ... PX per record, one PUBLISH when any is final. Inputs are checked first.
  Result keys are per task id, so they hash to many slots: on Redis Cluster each key would be
  written with its own SET instead. ]]
--@include lib/check.lua
local ttl = count(ARGV[1], 'time to live')
if ttl < 1 then error({ err = 'ERR errand: time to live must be at least 1 ms' }) end
if #ARGV ~= #KEYS + 3 then error({ err = 'ERR errand: write-results needs one record per key' }) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 3], 'PX', string.format('%d', ttl))
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return #KEYS
