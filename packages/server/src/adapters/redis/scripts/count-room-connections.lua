-- Sums the counts of a room's gateways whose report has not lapsed. Read-only.
-- KEYS[1] the room's hash gateway -> count, KEYS[2] the room's zset gateway -> expiry. ARGV[1] now.
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
if #live == 0 then return 0 end
local total = 0
local counts = redis.call('HMGET', KEYS[1], unpack(live))
for i = 1, #counts do total = total + tonumber(counts[i] or '0') end
return total
