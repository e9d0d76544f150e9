-- keypool key-id secret: the secret every instance makes key fingerprints with, created by the
-- first instance that asks and never replaced.
-- KEYS: 1 the secret's string
-- ARGV: 1 a fresh secret, kept if there is none yet
-- Returns the secret.
local secret = redis.call('GET', KEYS[1])
if secret then
  return secret
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
