-- Replaces one gateway's connection count in one room (0 removes it), with an expiry.
-- KEYS[1] the room's hash gateway -> count, KEYS[2] the room's zset gateway -> expiry (ms).
-- ARGV[1] gateway, ARGV[2] count, ARGV[3] now, ARGV[4] expiry.
-- Drops lapsed gateways; returns the latest expiry of the room's remaining gateways (0: none).
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if #lapsed > 0 then
  redis.call('HDEL', KEYS[1], unpack(lapsed))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
end
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if not latest[2] then return 0 end
redis.call('PEXPIREAT', KEYS[1], latest[2])
redis.call('PEXPIREAT', KEYS[2], latest[2])
return tonumber(latest[2])
