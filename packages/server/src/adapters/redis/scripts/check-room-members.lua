-- Tells for each user whether it is in a room's member set (1 or 0), in the order asked. Read-only.
-- KEYS[1] the room's member set. ARGV: the users. (SMISMEMBER is newer than Twemproxy's command table.)
local reply = {}
for i = 1, #ARGV do reply[i] = redis.call('SISMEMBER', KEYS[1], ARGV[i]) end
return reply
