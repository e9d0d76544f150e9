-- keypool usage: a key's tokens and requests in the sliding minute and the day, and its state.
-- Writes nothing.
-- KEYS: 1 minute hash, 2 day hash, 3 state hash, 4 meta hash, 5 pending zset
-- ARGV: 1 now, 2 bucket millis, 3 ring length, 4 epoch day, 5 the data's epoch as the caller knows it
-- Returns {minute tokens, day tokens, {state field, value, ...}, minute counted full until (0: not),
-- 1 if the key's data is of the caller's epoch else 0 (Redis lost it), minute requests, day requests}.
local fields = redis.call('HGETALL', KEYS[1])
local head = math.floor(tonumber(ARGV[1]) / tonumber(ARGV[2]))
for i = 1, #fields, 2 do
  if fields[i] == 'head' then
    head = head_of(fields[i + 1], head)
  end
end
local oldest = head - tonumber(ARGV[3]) + 1
local day_tokens = day_used(KEYS[2], tonumber(ARGV[4]))
local minute = tonumber(redis.call('HGET', KEYS[2], 'held')) or 0
local minute_requests = redis.call('ZCARD', KEYS[5])
for i = 1, #fields, 2 do
  if fields[i] ~= 'head' then
    local request = request_bucket(fields[i])
    if request then
      if request >= oldest then
        minute_requests = minute_requests + tonumber(fields[i + 1])
      end
    elseif tonumber(fields[i]) >= oldest then
      minute = minute + tonumber(fields[i + 1])
    end
  end
end
local meta = redis.call('HMGET', KEYS[4], 'epoch', 'full_until')
local full_until = 0
if meta[2] and tonumber(meta[2]) > tonumber(ARGV[1]) then
  full_until = tonumber(meta[2])
end
local kept = 0
if meta[1] == ARGV[5] then
  kept = 1
end
return {int(minute), int(day_tokens), redis.call('HGETALL', KEYS[3]), int(full_until), kept, int(minute_requests),
  int(day_requests_used(KEYS[2], KEYS[5], tonumber(ARGV[4])))}
