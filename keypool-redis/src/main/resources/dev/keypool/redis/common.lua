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

-- Moves a key's stored day on to epoch_day if it is older (nothing settled yet, no floors; held
-- reservations and the ticket counter stay), and returns the stored day: epoch_day, or a newer one
-- an instance whose clock runs ahead already reached.
local function roll_day(day_key, epoch_day)
  local stored_day = tonumber(redis.call('HGET', day_key, 'day'))
  if stored_day == nil or stored_day < epoch_day then
    redis.call('HSET', day_key, 'day', int(epoch_day), 'tokens', '0', 'requests', '0')
    redis.call('HDEL', day_key, 'floor', 'request_floor')
    return epoch_day
  end
  return stored_day
end

-- The minute hash keeps requests beside tokens: field 'r<bucket>' holds the requests settled in
-- bucket <bucket> (a hash written before request limits has none, and reads as no requests).
-- Returns the bucket number of a request field, or nil for any other field.
local function request_bucket(field)
  if string.byte(field, 1) == 114 then -- 'r'
    return tonumber(string.sub(field, 2))
  end
  return nil
end

-- Puts tokens actually used, and requests ended, at now: in the newest bucket (the later of the
-- caller's and the one stored, so that they count longer, never shorter), and in the day (the
-- caller's, or the key's if it is newer). A request thus occupies the minute until 60 s after it ended.
local function charge_now(minute_key, day_key, tokens, requests, now, bucket_millis, ring_length, slack, epoch_day,
    day_ttl)
  if tokens <= 0 and requests <= 0 then
    return
  end
  local head = head_of(redis.call('HGET', minute_key, 'head'), math.floor(now / bucket_millis))
  if tokens > 0 then
    redis.call('HINCRBY', minute_key, int(head), int(tokens))
  end
  if requests > 0 then
    redis.call('HINCRBY', minute_key, 'r' .. int(head), int(requests))
  end
  redis.call('HSET', minute_key, 'head', int(head))
  expire_minute(minute_key, head, now, bucket_millis, ring_length, slack)
  roll_day(day_key, epoch_day)
  if tokens > 0 then
    redis.call('HINCRBY', day_key, 'tokens', int(tokens))
  end
  if requests > 0 then
    redis.call('HINCRBY', day_key, 'requests', int(requests))
  end
  redis.call('PEXPIRE', day_key, day_ttl)
end

-- Takes a reservation's tokens off what the key holds, never below zero.
local function unhold(day_key, tokens)
  if redis.call('HEXISTS', day_key, 'held') == 1 and redis.call('HINCRBY', day_key, 'held', int(-tokens)) < 0 then
    redis.call('HSET', day_key, 'held', '0')
  end
end

-- The key's day tokens on epoch_day: settled (and the floor a lost day restarted from) if the
-- stored day is that one or newer, plus every reservation held.
local function day_used(day_key, epoch_day)
  local day = redis.call('HMGET', day_key, 'day', 'tokens', 'floor', 'held')
  local used = tonumber(day[4]) or 0
  if tonumber(day[1]) and tonumber(day[1]) >= epoch_day then
    used = used + (tonumber(day[2]) or 0) + (tonumber(day[3]) or 0)
  end
  return used
end

-- The key's day requests on epoch_day: settled (and the floor a lost day restarted from) if the
-- stored day is that one or newer, plus every reservation pending (one request each).
local function day_requests_used(day_key, pending_key, epoch_day)
  local day = redis.call('HMGET', day_key, 'day', 'requests', 'request_floor')
  local used = redis.call('ZCARD', pending_key)
  if tonumber(day[1]) and tonumber(day[1]) >= epoch_day then
    used = used + (tonumber(day[2]) or 0) + (tonumber(day[3]) or 0)
  end
  return used
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

