-- keypool charge: adds tokens and requests a key used while Redis could not count them (an
-- instance's local accounting during an outage) to its current minute bucket and to its day,
-- whatever its state.
-- KEYS: 1 minute hash, 2 day hash
-- ARGV: 1 minute tokens, 2 day tokens, 3 now, 4 bucket millis, 5 ring length, 6 epoch day,
--       7 minute slack, 8 day ttl, 9 minute requests, 10 day requests
-- Returns the key's day tokens after the charge (held reservations included).
local now = tonumber(ARGV[3])
local bucket_millis = tonumber(ARGV[4])
local ring_length = tonumber(ARGV[5])
if tonumber(ARGV[1]) > 0 or tonumber(ARGV[9]) > 0 then
  local head = head_of(redis.call('HGET', KEYS[1], 'head'), math.floor(now / bucket_millis))
  if tonumber(ARGV[1]) > 0 then
    redis.call('HINCRBY', KEYS[1], int(head), ARGV[1])
  end
  if tonumber(ARGV[9]) > 0 then
    redis.call('HINCRBY', KEYS[1], 'r' .. int(head), ARGV[9])
  end
  redis.call('HSET', KEYS[1], 'head', int(head))
  expire_minute(KEYS[1], head, now, bucket_millis, ring_length, tonumber(ARGV[7]))
end
local epoch_day = tonumber(ARGV[6])
if roll_day(KEYS[2], epoch_day) == epoch_day then
  redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'requests', ARGV[10])
end
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return day_used(KEYS[2], epoch_day)
