-- Takes points from a fixed one-second window if they fit, atomically.
-- KEYS[1] the window's counter. ARGV[1] points, ARGV[2] points per window, ARGV[3] window ms.
-- Returns {1, 0} when allowed, {0, ms until the window ends} when refused. Refused points are not
-- counted, so a refused caller does not push its own retry further out.
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local points = tonumber(ARGV[1])
if used + points > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  return {0, ttl}
end
if redis.call('INCRBY', KEYS[1], points) == points then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, 0}
