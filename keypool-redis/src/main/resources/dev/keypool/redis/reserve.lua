-- keypool reserve: checks the key's state, then reserves tokens and one request in the minute and
-- the day window if all four have room, or in none. The tokens and the request are held (counting
-- in both windows) until the ticket is settled; held requests are the key's pending tickets.
-- KEYS: 1 minute hash, 2 day hash, 3 state hash, 4 pending zset, 5 meta hash
-- ARGV: 1 tokens, 2 now, 3 bucket millis, 4 ring length, 5 per-minute limit (-1: none),
--       6 per-day limit (-1: none), 7 epoch day, 8 expires millis, 9 minute slack, 10 day ttl,
--       11 the data's epoch as the caller knows it, 12 probe millis, 13 state grace millis,
--       14 requests per minute (-1: none), 15 requests per day (-1: none)
-- Returns {1, seq, admitted millis, epoch day, day tokens after, probe state, day requests after} or {0, denial
-- reason[, retry-at millis]}; {0, 'LOST'} when the key's data is not of the caller's epoch (Redis
-- lost it). A key whose rest is over is granted to one reservation, its probe: the key rests on
-- for the probe's length, so the others are refused until the probe's outcome sets its state, and
-- the probe state is the key's state field/value pairs (empty for a key that was active).
local tokens = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local bucket_millis = tonumber(ARGV[3])
local ring_length = tonumber(ARGV[4])
local per_minute = tonumber(ARGV[5])
local per_day = tonumber(ARGV[6])
local epoch_day = tonumber(ARGV[7])
local requests_per_minute = tonumber(ARGV[14])
local requests_per_day = tonumber(ARGV[15])

local meta = redis.call('HMGET', KEYS[5], 'epoch', 'full_until')
if meta[1] ~= ARGV[11] then
  return {0, 'LOST'}
end

local state = redis.call('HMGET', KEYS[3], 'status', 'until')
if state[1] and state[1] ~= 'ACTIVE' and now < tonumber(state[2]) then
  if state[1] == 'COOLING_DOWN' then
    return {0, 'COOLING_DOWN', state[2]}
  end
  return {0, 'DEACTIVATED', state[2]}
end
local probe = state[1] and state[1] ~= 'ACTIVE'
if (per_minute >= 0 and tokens > per_minute) or (per_day >= 0 and tokens > per_day) then
  return {0, 'EXCEEDS_LIMIT'}
end
if (per_minute >= 0 or requests_per_minute >= 0) and meta[2] and now < tonumber(meta[2]) then
  if per_minute >= 0 then
    return {0, 'MINUTE_LIMIT', meta[2]}
  end
  return {0, 'REQUEST_MINUTE_LIMIT', meta[2]}
end

local day = redis.call('HMGET', KEYS[2], 'day', 'tokens', 'floor', 'held')
local stored_day = tonumber(day[1])
local day_current = stored_day ~= nil and stored_day >= epoch_day
local held = tonumber(day[4]) or 0
local day_used = held
if day_current then
  day_used = day_used + (tonumber(day[2]) or 0) + (tonumber(day[3]) or 0)
end
if per_day >= 0 and tokens > per_day - day_used then
  return {0, 'DAY_LIMIT'}
end
local held_requests = redis.call('ZCARD', KEYS[4])
local day_requests = day_requests_used(KEYS[2], KEYS[4], epoch_day)
if requests_per_day >= 0 and 1 > requests_per_day - day_requests then
  return {0, 'REQUEST_DAY_LIMIT'}
end

-- The minute: tokens settled in the live buckets, and every reservation not yet settled.
local fields = redis.call('HGETALL', KEYS[1])
local head = math.floor(now / bucket_millis)
local stored_head = nil
for i = 1, #fields, 2 do
  if fields[i] == 'head' then
    stored_head = tonumber(fields[i + 1])
    head = head_of(fields[i + 1], head)
  end
end
local oldest = head - ring_length + 1
-- Only what has left the window as the stored head sees it is deleted: a reserve does not move the
-- head (settles do), and a caller whose clock lags still counts from the stored head.
local stale_before = oldest
if stored_head then
  stale_before = stored_head - ring_length + 1
end
local live, live_requests, stale, used, requests_used = {}, {}, {}, held, held_requests
for i = 1, #fields, 2 do
  if fields[i] ~= 'head' then
    local request = request_bucket(fields[i])
    local bucket = request or tonumber(fields[i])
    if bucket < stale_before then
      stale[#stale + 1] = fields[i]
    elseif bucket < oldest then
      -- out of this caller's window, kept for a caller whose clock lags
    elseif request then
      local bucket_requests = tonumber(fields[i + 1])
      requests_used = requests_used + bucket_requests
      live_requests[#live_requests + 1] = {bucket, bucket_requests}
    else
      local bucket_tokens = tonumber(fields[i + 1])
      used = used + bucket_tokens
      live[#live + 1] = {bucket, bucket_tokens}
    end
  end
end

-- The first moment amount fits under limit as the oldest live buckets leave the window; a bucket
-- from now when what is held alone leaves no room (it frees up when its requests end, which no
-- clock tells).
local function retry_at(buckets, in_use, in_hold, amount, limit)
  if amount > limit - in_hold then
    return int((math.floor(now / bucket_millis) + 1) * bucket_millis)
  end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, entry in ipairs(buckets) do
    freed = freed + entry[2]
    if in_use - freed + amount <= limit then
      return int((entry[1] + ring_length) * bucket_millis)
    end
  end
  return int((head + ring_length) * bucket_millis)
end

if per_minute >= 0 and tokens > per_minute - used then
  return {0, 'MINUTE_LIMIT', retry_at(live, used, held, tokens, per_minute)}
end
if requests_per_minute >= 0 and 1 > requests_per_minute - requests_used then
  return {0, 'REQUEST_MINUTE_LIMIT', retry_at(live_requests, requests_used, held_requests, 1, requests_per_minute)}
end

if #stale > 0 then
  redis.call('HDEL', KEYS[1], unpack(stale))
end

-- Held, not in a bucket: the tokens are charged where the request ends (settle.lua).
roll_day(KEYS[2], epoch_day)
if not day_current then
  day_used = held
end
redis.call('HINCRBY', KEYS[2], 'held', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[10])

-- The ticket says when and on which day the caller reserved (the tokens are in no bucket yet).
local admitted = now
local ticket_day = epoch_day
local member = int(seq) .. ':' .. ARGV[1] .. ':' .. int(admitted) .. ':' .. int(ticket_day) .. ':' .. ARGV[8]
redis.call('ZADD', KEYS[4], ARGV[8], member)
redis.call('PEXPIRE', KEYS[4], ARGV[10])

local probe_state = {}
if probe then
  redis.call('HSET', KEYS[3], 'until', int(now + tonumber(ARGV[12])))
  redis.call('PEXPIRE', KEYS[3], int(tonumber(ARGV[12]) + tonumber(ARGV[13])))
  probe_state = redis.call('HGETALL', KEYS[3])
end
return {1, seq, int(admitted), int(ticket_day), int(day_used + tokens), probe_state, int(day_requests + 1)}
