-- keypool restore: a key whose data Redis lost (it restarted empty, or evicted it) is taken back
-- into the caller's epoch, conservatively: its minute counts as full until the given moment, and
-- its day counts at least what the caller last saw it count. Each instance that saw the key
-- restores it once; floors take the highest, so the freshest instance's view wins, and tokens
-- admitted since the loss add to the floor instead of hiding under it.
-- KEYS: 1 day hash, 2 meta hash
-- ARGV: 1 epoch, 2 minute full until, 3 day floor, 4 epoch day of the floor (-1: none known), 5 day ttl,
--       6 day request floor (requests the caller last saw the day count)
-- Returns 1.
redis.call('HSET', KEYS[2], 'epoch', ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[2], 'full_until')) or 0
if tonumber(ARGV[2]) > held then
  redis.call('HSET', KEYS[2], 'full_until', ARGV[2])
end
local epoch_day = tonumber(ARGV[4])
if epoch_day < 0 then
  return 1
end
if roll_day(KEYS[1], epoch_day) == epoch_day then
  local floor = tonumber(redis.call('HGET', KEYS[1], 'floor')) or 0
  if tonumber(ARGV[3]) > floor then
    redis.call('HSET', KEYS[1], 'floor', ARGV[3])
  end
  local request_floor = tonumber(redis.call('HGET', KEYS[1], 'request_floor')) or 0
  if tonumber(ARGV[6]) > request_floor then
    redis.call('HSET', KEYS[1], 'request_floor', ARGV[6])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
