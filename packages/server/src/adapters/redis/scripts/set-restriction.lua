-- Sets (ARGV[2] > 0) or lifts (ARGV[2] = 0) one restriction of a user in a room.
-- KEYS[1] the (room, user) hash restriction -> until (ms since the epoch). ARGV[1] restriction.
-- The key lives until its latest restriction ends, so lapsed ones free themselves; a PEXPIREAT in
-- the past deletes the key, which is right since every restriction in it has then ended.
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local latest = 0
local values = redis.call('HVALS', KEYS[1])
for i = 1, #values do latest = math.max(latest, tonumber(values[i])) end
if latest > 0 then redis.call('PEXPIREAT', KEYS[1], latest) end
return 1
