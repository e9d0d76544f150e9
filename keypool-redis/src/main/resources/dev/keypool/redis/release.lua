-- keypool release: ends the key's pending tickets whose expiry is at or before now, whichever
-- instance reserved them, and charges their reservations at now: the instance that reserved them
-- may have crashed after the provider served the request, so nothing is refunded: neither their
-- tokens nor their requests.
-- KEYS: 1 minute hash, 2 day hash, 3 pending zset
-- ARGV: 1 now, 2 bucket millis, 3 ring length, 4 minute slack, 5 most tickets to release,
--       6 epoch day of now, 7 day ttl
-- Returns the released members (seq:tokens:admitted:day:expires).
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, ARGV[5])
if #expired == 0 then
  return expired
end
redis.call('ZREM', KEYS[3], unpack(expired))
local tokens = 0
for _, member in ipairs(expired) do
  tokens = tokens + tonumber(string.match(member, '^%d+:(%d+):'))
end
unhold(KEYS[2], tokens)
charge_now(KEYS[1], KEYS[2], tokens, #expired, now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
    tonumber(ARGV[6]), ARGV[7])
return expired
