-- Reads a page of a user's inbox after a cursor, without touching its TTL.
-- KEYS[1] meta hash, KEYS[2] messages list. ARGV[1] after, ARGV[2] limit.
-- Returns {top, first, messages...}: messages[i] has seq first + i - 1.
local top = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local len = redis.call('LLEN', KEYS[2])
local oldest = top - len + 1
local first = math.max(tonumber(ARGV[1]) + 1, oldest)
local last = math.min(top, first + tonumber(ARGV[2]) - 1)
local reply = {top, first}
if first <= last then
  local messages = redis.call('LRANGE', KEYS[2], first - oldest, last - oldest)
  for i = 1, #messages do reply[2 + i] = messages[i] end
end
return reply
