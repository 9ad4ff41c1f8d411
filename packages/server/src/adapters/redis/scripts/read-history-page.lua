-- Reads a page of a room's history after a cursor; creates the epoch if missing and refreshes the
-- idle TTL (a read touches the room, as in the memory adapter).
-- KEYS[1] meta hash, KEYS[2] events list. ARGV[1] after, ARGV[2] limit (0: position only),
-- ARGV[3] idle TTL ms, ARGV[4] epoch candidate.
-- Returns {epoch, top, oldest, first, floor, events...}: events[i] has seq first + i - 1. The list
-- holds the newest events without gaps, so the seq of an entry follows from its index.
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[4])
local meta = redis.call('HMGET', KEYS[1], 'seq', 'epoch', 'floor', 'ceiling')
local top = tonumber(meta[1] or '0')
local floor = tonumber(meta[3] or '0')
local len = 0
-- Events only count under a reservation: a list without its hash is a leftover, not history.
if tonumber(meta[4] or '0') > 0 then len = redis.call('LLEN', KEYS[2]) end
local oldest = top - len + 1
local first = math.max(tonumber(ARGV[1]) + 1, oldest)
local last = math.min(top, first + tonumber(ARGV[2]) - 1)
local reply = {meta[2], top, oldest, first, floor}
if first <= last then
  local events = redis.call('LRANGE', KEYS[2], first - oldest, last - oldest)
  for i = 1, #events do reply[5 + i] = events[i] end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return reply
