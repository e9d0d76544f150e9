-- keypool legacy read: the data of a key as the index layout kept it ({openai:0}), to be moved to
-- the key configured at that index. Writes nothing.
-- KEYS: 1 minute hash, 2 day hash, 3 state hash, 4 pending zset (index layout)
-- Returns {} when there is none, else {minute pairs, day pairs, state pairs, state ttl millis
-- (-1: none)}. Pending tickets are not moved: their tokens are in the old minute and day, and the
-- instances that held them are gone.
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) == 0 then
  return {}
end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]),
  redis.call('PTTL', KEYS[3])}
