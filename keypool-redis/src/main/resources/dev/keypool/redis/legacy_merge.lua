-- keypool legacy merge: adds a key's data from the index layout (read by legacy_read.lua) to the
-- key's data under its fingerprint, once: a marker in the key's meta hash makes a second merge,
-- by another instance that read the same data, do nothing.
-- KEYS: 1 minute hash, 2 day hash, 3 state hash, 4 meta hash (fingerprint layout)
-- ARGV: 1 now, 2 bucket millis, 3 ring length, 4 minute slack, 5 day ttl, then three counted lists,
--       each its length then its items: minute pairs, day pairs, state pairs; then the state's ttl
--       millis (-1: none). The index layout kept reservations in its buckets and day: they are
--       moved as settled tokens.
-- Returns 1 if merged, 0 if it had been already.
if redis.call('HSETNX', KEYS[4], 'migrated', '1') == 0 then
  return 0
end
local now = tonumber(ARGV[1])
local bucket_millis = tonumber(ARGV[2])
local ring_length = tonumber(ARGV[3])
local next_arg = 6
local function list()
  local n = tonumber(ARGV[next_arg])
  local items = {}
  for j = 1, n do
    items[j] = ARGV[next_arg + j]
  end
  next_arg = next_arg + n + 1
  return items
end
local minute = list()
local day = list()
local state = list()
local state_ttl = tonumber(ARGV[next_arg])

local head = nil
for j = 1, #minute, 2 do
  if minute[j] == 'head' then
    head = tonumber(minute[j + 1])
  else
    redis.call('HINCRBY', KEYS[1], minute[j], minute[j + 1])
  end
end
if head then
  head = head_of(redis.call('HGET', KEYS[1], 'head'), head)
  redis.call('HSET', KEYS[1], 'head', int(head))
  expire_minute(KEYS[1], head, now, bucket_millis, ring_length, tonumber(ARGV[4]))
end

local old = {}
for j = 1, #day, 2 do
  old[day[j]] = day[j + 1]
end
if old['day'] then
  local old_day = tonumber(old['day'])
  local stored_day = tonumber(redis.call('HGET', KEYS[2], 'day'))
  if stored_day == nil or stored_day < old_day then
    redis.call('HSET', KEYS[2], 'day', old['day'], 'tokens', old['tokens'] or '0')
  elseif stored_day == old_day then
    redis.call('HINCRBY', KEYS[2], 'tokens', old['tokens'] or '0')
  end
  if old['seq'] and tonumber(old['seq']) > (tonumber(redis.call('HGET', KEYS[2], 'seq')) or 0) then
    redis.call('HSET', KEYS[2], 'seq', old['seq'])
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end

if #state > 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], unpack(state))
  if state_ttl > 0 then
    redis.call('PEXPIRE', KEYS[3], state_ttl)
  end
end

return 1
