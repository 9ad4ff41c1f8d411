-- Archive moves and hot-window retention look for ended rooms still on the shard, oldest end first.
-- Partial, so it stays tiny: ended rooms leave the shard as soon as their move completes.
CREATE INDEX rooms_ended_oldest_first ON rooms (ended_at, id) WHERE status = 'ended';
