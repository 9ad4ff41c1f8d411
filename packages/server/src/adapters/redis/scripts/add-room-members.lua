-- Adds users to a room's member set and keeps the set for another TTL.
-- KEYS[1] the room's member set. ARGV[1] TTL ms, then the users.
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
