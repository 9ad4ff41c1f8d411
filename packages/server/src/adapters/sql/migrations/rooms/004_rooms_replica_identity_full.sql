-- The rooms change feed (logical replication) reports a room leaving the shard for the archive:
-- with the full old row in each delete, a consumer learns which room left and what it was, not
-- just its key. Rooms rows are small and deleted once each, so the extra WAL is negligible.
ALTER TABLE rooms REPLICA IDENTITY FULL;
