-- Records (or refreshes) that a gateway holds a user's connection until an expiry time.
-- KEYS[1] the user's zset gateway -> expiry (ms since the epoch). ARGV[1] gateway, ARGV[2] now,
-- ARGV[3] expiry. Drops lapsed gateways and keeps the key alive until its latest entry lapses.
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if latest[2] then redis.call('PEXPIREAT', KEYS[1], latest[2]) end
return 1
