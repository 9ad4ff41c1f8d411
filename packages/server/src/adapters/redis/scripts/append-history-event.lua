-- Appends one event to a room's capped history and assigns its seq, atomically, after the checks
-- a user's publish must pass (its guard), so a publish is one round trip.
-- KEYS[1] meta hash {seq, epoch, floor, ceiling}, KEYS[2] events list (oldest first), KEYS[3] the
-- idempotency record {seq, fingerprint}, KEYS[4] the publisher's restrictions hash {mute, ban},
-- KEYS[5..] the guard's rate windows; all carry the room's hash tag. KEYS[3] is only used with a
-- fingerprint and KEYS[4] only when restrictions are checked (callers pass KEYS[1] in their place).
-- ARGV[1] event JSON (without seq), ARGV[2] capacity, ARGV[3] idle TTL ms, ARGV[4] fingerprint
-- ('' without idempotency), ARGV[5] replay window ms, ARGV[6] now (ms since the epoch), ARGV[7]
-- '1' to check restrictions, ARGV[8] '1' to fence against failovers (below), ARGV[9..] points per
-- second of each window of KEYS[5..], in order.
-- The fence: the meta remembers the master's replication ID of its last write. A copy written under
-- another ID (a replica promoted since, or a restart) may be older than what was acknowledged, its
-- counter behind seqs already issued: the room then starts over as if its history were lost
-- (meta and events dropped, {'unreserved', 0}), above the durable ceiling, under a new epoch.
-- Returns {kind, seq, epoch, floor}: kind 'appended' or 'replayed'; {'conflict'} when the key was
-- used for another event; {'unreserved', ceiling} when the next seq would pass the reserved
-- ceiling (0: no reservation, the room is new or its history was lost); {'refused', 'banned' |
-- 'muted'}; {'refused', 'rate_limited', window index (1-based), ms until it ends}. Nothing is
-- stored unless 'appended'; a window is counted only when everything before it passed.
local replid = nil
if ARGV[8] == '1' then
  replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
  local written = redis.call('HGET', KEYS[1], 'replid')
  if written and written ~= replid then
    redis.call('DEL', KEYS[1], KEYS[2])
    return {'unreserved', 0}
  end
end
local meta = redis.call('HMGET', KEYS[1], 'seq', 'epoch', 'floor', 'ceiling')
local top = tonumber(meta[1] or '0')
local floor = tonumber(meta[3] or '0')
local ceiling = tonumber(meta[4] or '0')
local idempotent = ARGV[4] ~= ''
if idempotent then
  local prior = redis.call('HMGET', KEYS[3], 'seq', 'fingerprint')
  if prior[1] then
    if prior[2] ~= ARGV[4] then return {'conflict'} end
    return {'replayed', tonumber(prior[1]), meta[2] or '', floor}
  end
end
local now = tonumber(ARGV[6])
if ARGV[7] == '1' then
  local held = redis.call('HMGET', KEYS[4], 'ban', 'mute')
  if held[1] and tonumber(held[1]) > now then return {'refused', 'banned'} end
  if held[2] and tonumber(held[2]) > now then return {'refused', 'muted'} end
end
-- Reserve above the counter too: a history written before reservations existed has one and no ceiling.
if top >= ceiling or not meta[2] then return {'unreserved', math.max(ceiling, top)} end
for i = 5, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used + 1 > tonumber(ARGV[i + 4]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = 1000 end
    return {'refused', 'rate_limited', i - 4, ttl}
  end
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], 1000) end
end
local seq = top + 1
redis.call('HSET', KEYS[1], 'seq', seq)
if replid then redis.call('HSET', KEYS[1], 'replid', replid) end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if idempotent then
  redis.call('HSET', KEYS[3], 'seq', seq, 'fingerprint', ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return {'appended', seq, meta[2], floor}
