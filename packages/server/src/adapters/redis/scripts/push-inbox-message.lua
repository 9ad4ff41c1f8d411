-- Appends one message to a user's capped inbox and assigns the user's next seq, atomically.
-- KEYS[1] meta hash {seq}, KEYS[2] messages list (oldest first); both carry the user's hash tag.
-- ARGV[1] message JSON (without seq), ARGV[2] capacity, ARGV[3] TTL ms.
-- Only pushes refresh the TTL, so a polling client cannot keep an inbox alive forever.
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq
