-- keypool release: refunds the key's pending tickets whose expiry is at or before now, whichever
-- instance reserved them.
-- KEYS: 1 minute hash, 2 day hash, 3 pending zset
-- ARGV: 1 now, 2 bucket millis, 3 ring length, 4 minute slack, 5 most tickets to release
-- Returns the released members (seq:tokens:admitted:day:expires).
local now = tonumber(ARGV[1])
local bucket_millis = tonumber(ARGV[2])
local ring_length = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, ARGV[5])
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[3], member)
  local tokens, admitted, day = string.match(member, '^%d+:(%d+):(%-?%d+):(%-?%d+):')
  adjust(KEYS[1], KEYS[2], math.floor(tonumber(admitted) / bucket_millis), tonumber(day), -tonumber(tokens),
      now, bucket_millis, ring_length, slack)
end
return expired
