-- Records (or refreshes) a gateway in the directory hash until an expiry time.
-- KEYS[1] the directory hash gateway -> JSON {"group","url","expiresAt"}. ARGV[1] gateway ID,
-- ARGV[2] the JSON, ARGV[3] now, ARGV[4] ttl ms. Drops lapsed gateways (few: one per gateway
-- process) and keeps the key alive while any entry may still be live.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[3])
for i = 1, #all, 2 do
  local ok, entry = pcall(cjson.decode, all[i + 1])
  if not ok or type(entry) ~= 'table' or type(entry.expiresAt) ~= 'number' or entry.expiresAt <= now then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
