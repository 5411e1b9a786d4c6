/**
 * The Lua scripts of Resque mode. Each is one atomic step on Resque's keys. Resque's key names have
 * no hash tags, so the scripts build them from the namespace (one Redis, or a Cluster-less setup,
 * as for Ruby Resque itself). Run with EVALSHA, re-sent with EVAL on NOSCRIPT.
 */
import { createHash } from 'node:crypto';
import type { Client } from '../brokers/redis/connection.ts';

const RESERVE = `--[[ resque reserve: first move due resque-scheduler items to their queues, then take up to S
  jobs for S free worker slots. Each job moves atomically from <ns>queue:<q> into the slot's
  in-flight hash <ns>errand:inflight:<id> (so a killed worker loses nothing) and is shown as working
  in <ns>worker:<id>, the JSON resque-web and node-resque read.
  KEYS     none (built from ARGV[1])
  ARGV[1]  namespace, ending with ':'
  ARGV[2]  now, unix seconds: delayed items with a score <= now are due
  ARGV[3]  run_at (ISO 8601 UTC)
  ARGV[4]  '1' to move due delayed items, '0' not to
  ARGV[5]  failed_at (Resque's format), for a delayed item that names no queue
  ARGV[6]  worker id, for that failure entry
  ARGV[7]  Q, the number of queues; ARGV[8 .. 7+Q] the queue names
  ARGV[8+Q]  S, the number of free slots; then per slot 4 values: worker id, worker name, token,
             poll order (1-based queue indices, comma-separated)
  Returns  { slot number, queue index, body, ... } (1-based), one triple per job taken
  Commands: ZRANGEBYSCORE, LPOP, SREM, SADD, RPUSH, LLEN, DEL, ZREM (delayed items);
            LPOP, HSET, SET per job ]]
local ns = ARGV[1]
if ARGV[4] == '1' then
  local budget = 100
  local due = redis.call('ZRANGEBYSCORE', ns .. 'delayed_queue_schedule', '-inf', ARGV[2], 'LIMIT', 0, 10)
  for _, ts in ipairs(due) do
    local dkey = ns .. 'delayed:' .. ts
    while budget > 0 do
      local item = redis.call('LPOP', dkey)
      if not item then break end
      budget = budget - 1
      redis.call('SREM', ns .. 'timestamps:' .. item, 'delayed:' .. ts)
      local ok, job = pcall(cjson.decode, item)
      local q = ok and type(job) == 'table' and job['queue']
      if type(q) == 'string' and q ~= '' then
        redis.call('SADD', ns .. 'queues', q)
        redis.call('RPUSH', ns .. 'queue:' .. q, item)
      else
        redis.call('RPUSH', ns .. 'failed', '{"failed_at":' .. cjson.encode(ARGV[5]) .. ',"payload":' ..
          cjson.encode(item) .. ',"exception":"ArgumentError","error":"delayed item names no queue",' ..
          '"backtrace":[],"worker":' .. cjson.encode(ARGV[6]) .. ',"queue":""}')
        redis.call('INCR', ns .. 'stat:failed')
      end
    end
    if redis.call('LLEN', dkey) == 0 then
      redis.call('DEL', dkey)
      redis.call('ZREM', ns .. 'delayed_queue_schedule', ts)
    end
    if budget == 0 then break end
  end
end
local nq = tonumber(ARGV[7])
local queues = {}
for i = 1, nq do queues[i] = ARGV[7 + i] end
local base = 8 + nq
local slots = tonumber(ARGV[base])
local empty = {}
local out = {}
for s = 1, slots do
  local o = base + (s - 1) * 4
  local id, name, token, order = ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4]
  local got = false
  for idx in string.gmatch(order, '%d+') do
    local qi = tonumber(idx)
    if not empty[qi] then
      local body = redis.call('LPOP', ns .. 'queue:' .. queues[qi])
      if body then
        redis.call('HSET', ns .. 'errand:inflight:' .. id, 'token', token, 'queue', queues[qi], 'payload', body,
          'run_at', ARGV[3])
        local payload = body
        if not pcall(cjson.decode, body) then payload = cjson.encode(body) end
        redis.call('SET', ns .. 'worker:' .. id, '{"queue":' .. cjson.encode(queues[qi]) .. ',"run_at":"' ..
          ARGV[3] .. '","payload":' .. payload .. ',"worker":' .. cjson.encode(name) .. '}')
        out[#out + 1] = s
        out[#out + 1] = qi
        out[#out + 1] = body
        got = true
        break
      end
      empty[qi] = true
    end
  end
  -- This slot looked at every queue: all are empty.
  if not got then break end
end
return out`;

const SETTLE = `--[[ resque settle: the outcomes of finished jobs. Each is applied only if the slot's in-flight
  hash still holds its token (a worker pruned meanwhile had its job requeued: that token is lost).
  KEYS     none (built from ARGV[1])
  ARGV[1]  namespace, ending with ':'
  ARGV[2]  N, then per outcome 5 values: kind, worker id, token, data1, data2
           ack     -, -                      processed +1
           fail    failure entry JSON, -     RPUSH failed; failed +1 and processed +1 (Ruby's rule)
           retry   delayed item JSON, due unix seconds (resque-scheduler's keys)
           release -, -                      back to the head of its queue (shutdown)
  Returns  the lost tokens
  Commands: HGET, INCR, RPUSH, SADD, ZADD, HMGET, LPUSH, EXISTS (+ HDEL after a requeue), DEL ]]
local ns = ARGV[1]
local lost = {}
for i = 0, tonumber(ARGV[2]) - 1 do
  local o = 3 + i * 5
  local kind, id, token, d1, d2 = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4]
  local ikey = ns .. 'errand:inflight:' .. id
  if redis.call('HGET', ikey, 'token') ~= token then
    lost[#lost + 1] = token
  else
    if kind == 'ack' or kind == 'fail' then
      redis.call('INCR', ns .. 'stat:processed')
      redis.call('INCR', ns .. 'stat:processed:' .. id)
    end
    if kind == 'fail' then
      redis.call('RPUSH', ns .. 'failed', d1)
      redis.call('INCR', ns .. 'stat:failed')
      redis.call('INCR', ns .. 'stat:failed:' .. id)
    elseif kind == 'retry' then
      redis.call('RPUSH', ns .. 'delayed:' .. d2, d1)
      redis.call('SADD', ns .. 'timestamps:' .. d1, 'delayed:' .. d2)
      redis.call('ZADD', ns .. 'delayed_queue_schedule', d2, d2)
    elseif kind == 'release' then
      local job = redis.call('HMGET', ikey, 'queue', 'payload')
      redis.call('LPUSH', ns .. 'queue:' .. job[1], job[2])
    end
    -- A job that came back after its worker died: it finished now, forget its death count.
    if kind ~= 'release' and redis.call('EXISTS', ns .. 'errand:requeues') == 1 then
      redis.call('HDEL', ns .. 'errand:requeues', redis.sha1hex(redis.call('HGET', ikey, 'payload')))
    end
    redis.call('DEL', ikey, ns .. 'worker:' .. id)
  end
end
return lost`;

const PRUNE = `--[[ resque prune: unregister one dead worker and requeue (not fail) its in-flight job, at the head
  of its queue. Only while the worker is still registered: a pruner that unregistered it first
  (Ruby Resque, node-resque's cleanOldWorkers, goworker) has already failed that job into <ns>failed.
  A job whose workers died with it ARGV[6] times (counted by sha1 of the payload in
  <ns>errand:requeues) is failed instead, so a job that kills its worker cannot loop for ever.
  KEYS     none (built from ARGV[1])
  ARGV[1]  namespace, ending with ':'
  ARGV[2]  worker id
  ARGV[3]  for a worker without an Errand in-flight hash (another implementation): the <ns>worker:<id>
           value read before, requeued only if unchanged ('' for none)
  ARGV[4]  that job's queue; ARGV[5] its payload
  ARGV[6]  deaths after which the job is failed (Errand's maxDeliveries)
  ARGV[7]  failed_at (Resque's format)
  Returns  { queue, payload, 'requeued' | 'failed' } when a job was found, else {}
  Commands: SISMEMBER, HMGET, GET, HINCRBY, HDEL, LPUSH or RPUSH + INCR, SREM, DEL ]]
local ns, id = ARGV[1], ARGV[2]
local ikey = ns .. 'errand:inflight:' .. id
local registered = redis.call('SISMEMBER', ns .. 'workers', id) == 1
local function requeue(q, payload)
  local sha = redis.sha1hex(payload)
  local deaths = redis.call('HINCRBY', ns .. 'errand:requeues', sha, 1)
  if deaths < tonumber(ARGV[6]) then
    redis.call('LPUSH', ns .. 'queue:' .. q, payload)
    return { q, payload, 'requeued' }
  end
  redis.call('HDEL', ns .. 'errand:requeues', sha)
  local embedded = payload
  if not pcall(cjson.decode, payload) then embedded = cjson.encode(payload) end
  redis.call('RPUSH', ns .. 'failed', '{"failed_at":' .. cjson.encode(ARGV[7]) .. ',"payload":' .. embedded ..
    ',"exception":"Resque::DirtyExit","error":' .. cjson.encode('its worker died while running it ' .. deaths ..
    ' times (last: ' .. id .. ')') .. ',"backtrace":[],"worker":' .. cjson.encode(id) .. ',"queue":' ..
    cjson.encode(q) .. '}')
  redis.call('INCR', ns .. 'stat:failed')
  return { q, payload, 'failed' }
end
local out = {}
local job = redis.call('HMGET', ikey, 'queue', 'payload')
if job[1] and job[2] then
  if registered then out = requeue(job[1], job[2]) end
elseif ARGV[3] ~= '' and registered and redis.call('GET', ns .. 'worker:' .. id) == ARGV[3] then
  out = requeue(ARGV[4], ARGV[5])
end
redis.call('SREM', ns .. 'workers', id)
redis.call('DEL', ikey, ns .. 'worker:' .. id, ns .. 'worker:' .. id .. ':started', ns .. 'stat:processed:' .. id,
  ns .. 'stat:failed:' .. id)
redis.call('HDEL', ns .. 'workers:heartbeat', id)
return out`;

const SOURCES = { reserve: RESERVE, settle: SETTLE, prune: PRUNE } as const;
export type ResqueScript = keyof typeof SOURCES;

const shas = new Map<ResqueScript, string>();

function shaOf(name: ResqueScript): string {
  let sha = shas.get(name);
  if (!sha) {
    sha = createHash('sha1').update(SOURCES[name]).digest('hex');
    shas.set(name, sha);
  }
  return sha;
}

export async function runResqueScript<T>(
  client: Client,
  name: ResqueScript,
  args: readonly (string | number)[],
): Promise<T> {
  const tail = ['0', ...args.map(String)];
  try {
    return (await client.sendCommand(['EVALSHA', shaOf(name), ...tail])) as T;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return (await client.sendCommand(['EVAL', SOURCES[name], ...tail])) as T;
  }
}
