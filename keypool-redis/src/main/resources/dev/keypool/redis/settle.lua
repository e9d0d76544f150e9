-- keypool settle: takes a ticket off the pending set and what the key holds, and charges the tokens
-- actually used and its one request at now, so they count for a minute from the request's end;
-- when the ticket had expired (and its reservation and request were charged then), only the
-- tokens used beyond the reservation.
-- KEYS: 1 minute hash, 2 day hash, 3 pending zset
-- ARGV: 1 ticket member, 2 reserved tokens, 3 actual tokens, 4 now, 5 bucket millis,
--       6 ring length, 7 epoch day of now, 8 minute slack, 9 day ttl
-- Returns {1 if the ticket was pending else 0, the key's day tokens after, its day requests after}.
local pending = redis.call('ZREM', KEYS[3], ARGV[1])
local reserved = tonumber(ARGV[2])
local charge = tonumber(ARGV[3])
if pending == 1 then
  unhold(KEYS[2], reserved)
else
  charge = math.max(0, charge - reserved)
end
local epoch_day = tonumber(ARGV[7])
charge_now(KEYS[1], KEYS[2], charge, pending, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
    tonumber(ARGV[8]), epoch_day, ARGV[9])
return {pending, int(day_used(KEYS[2], epoch_day)), int(day_requests_used(KEYS[2], KEYS[3], epoch_day))}
