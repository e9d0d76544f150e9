-- keypool release: ends the key's pending tickets whose expiry is at or before now, whichever
-- instance reserved them. Their tokens stay charged where they were admitted: the instance that
-- reserved them may have crashed after the provider served the request.
-- KEYS: 1 minute hash, 2 day hash, 3 pending zset
-- ARGV: 1 now, 2 bucket millis, 3 ring length, 4 minute slack, 5 most tickets to release
-- Returns the released members (seq:tokens:admitted:day:expires).
local now = tonumber(ARGV[1])
local bucket_millis = tonumber(ARGV[2])
local ring_length = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, ARGV[5])
if #expired > 0 then
  redis.call('ZREM', KEYS[3], unpack(expired))
end
return expired
