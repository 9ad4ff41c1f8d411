-- Gives a room's history a range of seqs it may issue, reserved durably beforehand.
-- KEYS[1] meta hash {seq, epoch, floor, ceiling}, KEYS[2] events list.
-- ARGV[1] floor, ARGV[2] ceiling, ARGV[3] idle TTL ms, ARGV[4] epoch candidate, ARGV[5] '1' to fence
-- against failovers (append-history-event.lua): a meta written under another master's replication
-- ID is dropped first, so the room starts at the floor instead of going on from a counter that may
-- be behind.
-- Without a reservation (a new room, or its history was lost) the history starts at the floor:
-- counter = floor, no events (a list left over without its hash is dropped), the epoch a reader
-- may already have seen kept. With one, only the ceiling rises: the counter goes on gap-free.
local replid = nil
if ARGV[5] == '1' then
  replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
  local written = redis.call('HGET', KEYS[1], 'replid')
  if written and written ~= replid then redis.call('DEL', KEYS[1], KEYS[2]) end
end
local ceiling = tonumber(redis.call('HGET', KEYS[1], 'ceiling') or '0')
if ceiling == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('HSETNX', KEYS[1], 'epoch', ARGV[4])
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'floor', ARGV[1], 'ceiling', ARGV[2])
elseif tonumber(ARGV[2]) > ceiling then
  redis.call('HSET', KEYS[1], 'ceiling', ARGV[2])
end
if replid then redis.call('HSET', KEYS[1], 'replid', replid) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
