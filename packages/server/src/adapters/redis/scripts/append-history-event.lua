-- Appends one event to a room's capped history and assigns its seq, atomically.
-- KEYS[1] meta hash {seq, epoch, floor, ceiling}, KEYS[2] events list (oldest first), and, for an
-- idempotent append, KEYS[3] the idempotency record {seq, fingerprint}; all carry the room's hash tag.
-- ARGV[1] event JSON (without seq), ARGV[2] capacity, ARGV[3] idle TTL ms, and with KEYS[3]:
-- ARGV[4] fingerprint, ARGV[5] replay window ms.
-- Returns {kind, seq, epoch, floor}: kind 'appended' or 'replayed'; {'conflict'} when the key was
-- used for another event; {'unreserved', ceiling} when the next seq would pass the reserved
-- ceiling (0: no reservation, the room is new or its history was lost) and nothing was stored.
local meta = redis.call('HMGET', KEYS[1], 'seq', 'epoch', 'floor', 'ceiling')
local top = tonumber(meta[1] or '0')
local floor = tonumber(meta[3] or '0')
local ceiling = tonumber(meta[4] or '0')
if #KEYS == 3 then
  local prior = redis.call('HMGET', KEYS[3], 'seq', 'fingerprint')
  if prior[1] then
    if prior[2] ~= ARGV[4] then return {'conflict'} end
    return {'replayed', tonumber(prior[1]), meta[2] or '', floor}
  end
end
-- Reserve above the counter too: a history written before reservations existed has one and no ceiling.
if top >= ceiling or not meta[2] then return {'unreserved', math.max(ceiling, top)} end
local seq = top + 1
redis.call('HSET', KEYS[1], 'seq', seq)
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if #KEYS == 3 then
  redis.call('HSET', KEYS[3], 'seq', seq, 'fingerprint', ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return {'appended', seq, meta[2], floor}
