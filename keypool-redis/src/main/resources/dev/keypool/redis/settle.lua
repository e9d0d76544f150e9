-- keypool settle: takes a ticket off the pending set and applies actual - reserved where it was
-- put; when the ticket had expired (and its reservation stayed charged), only what was used beyond
-- the reservation.
-- KEYS: 1 minute hash, 2 day hash, 3 pending zset
-- ARGV: 1 ticket member, 2 reserved tokens, 3 actual tokens, 4 now, 5 bucket millis,
--       6 ring length, 7 ticket bucket, 8 ticket epoch day, 9 minute slack
-- Returns 1 if the ticket was pending, else 0.
local pending = redis.call('ZREM', KEYS[3], ARGV[1])
local delta = tonumber(ARGV[3]) - tonumber(ARGV[2])
if pending == 0 and delta < 0 then
  delta = 0
end
if delta ~= 0 then
  adjust(KEYS[1], KEYS[2], tonumber(ARGV[7]), tonumber(ARGV[8]), delta, tonumber(ARGV[4]),
      tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[9]))
end
return pending
