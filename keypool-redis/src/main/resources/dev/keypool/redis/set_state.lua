-- keypool set state: replaces a key's state.
-- KEYS: 1 state hash
-- ARGV: 1 expiry millis (0: none), 2.. field/value pairs of the new state (none: active)
write_state(KEYS[1], tonumber(ARGV[1]), ARGV, 2)
return 1
