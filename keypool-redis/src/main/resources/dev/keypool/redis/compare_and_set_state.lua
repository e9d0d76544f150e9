-- keypool compare-and-set state: replaces a key's state only if it is still the expected one.
-- KEYS: 1 state hash
-- ARGV: 1 n, 2..n+1 field/value pairs of the expected state (none: active),
--       n+2 expiry millis of the new state (0: none), n+3.. field/value pairs of the new state
-- Returns 1 if replaced, else 0.
local n = tonumber(ARGV[1])
local stored = redis.call('HGETALL', KEYS[1])
if #stored ~= n then
  return 0
end
local expected = {}
for i = 2, n + 1, 2 do
  expected[ARGV[i]] = ARGV[i + 1]
end
for i = 1, #stored, 2 do
  if expected[stored[i]] ~= stored[i + 1] then
    return 0
  end
end
write_state(KEYS[1], tonumber(ARGV[n + 2]), ARGV, n + 3)
return 1
