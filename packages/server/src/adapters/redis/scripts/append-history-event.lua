-- Appends one event to a room's capped history and assigns its seq, atomically.
-- KEYS[1] meta hash {seq, epoch}, KEYS[2] events list (oldest first); both carry the room's hash tag.
-- ARGV[1] event JSON (without seq), ARGV[2] capacity, ARGV[3] idle TTL ms, ARGV[4] epoch candidate.
-- Returns {seq, epoch}. The epoch lives in the same hash as the counter, so a lost hash means a
-- new epoch and seqs restarting at 1 together.
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[4])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {seq, redis.call('HGET', KEYS[1], 'epoch')}
