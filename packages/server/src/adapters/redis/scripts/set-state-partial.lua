-- Sets one partial of a room's state and raises its version and the total by one, atomically.
-- KEYS[1] state hash: 't' total, 'n' partial count, 'v:<name>' version, 'j:<name>' JSON value.
-- ARGV[1] name, ARGV[2] value JSON, ARGV[3] max partials, ARGV[4] idle TTL ms.
-- Returns {total, v}, or nil (storing nothing) when a new partial would exceed the maximum.
local vfield = 'v:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], vfield) == 0 then
  if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') >= tonumber(ARGV[3]) then return nil end
  redis.call('HINCRBY', KEYS[1], 'n', 1)
end
local v = redis.call('HINCRBY', KEYS[1], vfield, 1)
redis.call('HSET', KEYS[1], 'j:' .. ARGV[1], ARGV[2])
local total = redis.call('HINCRBY', KEYS[1], 't', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {total, v}
