-- keypool: helpers shared by the store's scripts; RedisUsageStore puts this text before each one.
-- Numbers are Lua doubles: every value handled here (millis, bucket and day numbers, tokens) stays
-- below 2^53, and counters are changed with HINCRBY so Redis keeps them as exact integers.

local function int(n)
  return string.format('%d', n)
end

-- The newest bucket: the later of the caller's and the one stored, so that tokens admitted by a
-- caller whose clock lags count longer, never shorter.
local function head_of(stored, bucket)
  stored = tonumber(stored)
  if stored and stored > bucket then
    return stored
  end
  return bucket
end

-- Keeps the minute hash until its newest bucket has left the window, plus some slack.
local function expire_minute(minute_key, head, now, bucket_millis, ring_length, slack)
  redis.call('PEXPIRE', minute_key, int((head + ring_length) * bucket_millis - now + slack))
end

-- Adds delta to the bucket and day a ticket was put in, where they are still current; a bucket or
-- day never goes below zero.
local function adjust(minute_key, day_key, ticket_bucket, ticket_day, delta, now, bucket_millis, ring_length, slack)
  local head = head_of(redis.call('HGET', minute_key, 'head'), math.floor(now / bucket_millis))
  if ticket_bucket > head - ring_length and ticket_bucket <= head then
    local field = int(ticket_bucket)
    if redis.call('HINCRBY', minute_key, field, int(delta)) <= 0 then
      redis.call('HDEL', minute_key, field)
    end
    redis.call('HSET', minute_key, 'head', int(head))
    expire_minute(minute_key, head, now, bucket_millis, ring_length, slack)
  end
  if tonumber(redis.call('HGET', day_key, 'day')) == ticket_day then
    if redis.call('HINCRBY', day_key, 'tokens', int(delta)) < 0 then
      redis.call('HSET', day_key, 'tokens', '0')
    end
  end
end

-- Replaces a key's state with the field/value pairs in args from index first on (none: active).
local function write_state(state_key, ttl, args, first)
  redis.call('DEL', state_key)
  if #args >= first then
    redis.call('HSET', state_key, unpack(args, first))
    if ttl > 0 then
      redis.call('PEXPIRE', state_key, ttl)
    end
  end
end

