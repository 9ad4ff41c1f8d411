-- Records in one bucket of the live-room index that rooms have reports until the given expiries.
-- KEYS[1] the bucket's zset room -> expiry (ms). ARGV[1] now, then pairs of expiry, room.
-- GT keeps the latest expiry when reports of several gateways race; lapsed rooms are dropped.
for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'GT', ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if latest[2] then redis.call('PEXPIREAT', KEYS[1], latest[2]) end
return 1
