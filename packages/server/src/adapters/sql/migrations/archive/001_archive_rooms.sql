-- The archive of ended rooms. Runs with search_path set to the archive schema: no schema names here.
-- Append-only: rows are only ever inserted (the triggers below refuse UPDATE, DELETE and TRUNCATE),
-- and the table is range-partitioned by month of ended_at, so it grows by adding partitions (which
-- the repository creates on demand) instead of rewriting old ones.
CREATE TABLE rooms (
  id text COLLATE "C" NOT NULL,
  host_id text COLLATE "C" NOT NULL,
  title text NOT NULL,
  visibility text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now(),
  -- The same rules as a region shard's rooms table (migrations/rooms/001_rooms.sql).
  CONSTRAINT rooms_id_length CHECK (char_length(id) BETWEEN 4 AND 73),
  CONSTRAINT rooms_host_id_length CHECK (char_length(host_id) BETWEEN 4 AND 73),
  CONSTRAINT rooms_id_in_host_region CHECK (split_part(id, '_', 1) = split_part(host_id, '_', 1)),
  CONSTRAINT rooms_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  CONSTRAINT rooms_visibility_valid CHECK (visibility IN ('public', 'private')),
  -- A partitioned table's unique key must hold the partition key. ended_at of a room never changes
  -- once set on its shard, so every attempt to archive one room carries the same (id, ended_at), and
  -- INSERT … ON CONFLICT DO NOTHING on this key makes a repeated move a no-op.
  CONSTRAINT rooms_pkey PRIMARY KEY (id, ended_at)
) PARTITION BY RANGE (ended_at);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the room archive is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Row triggers on a partitioned table are cloned onto every partition, present and future.
CREATE TRIGGER rooms_append_only BEFORE UPDATE OR DELETE ON rooms
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER rooms_no_truncate BEFORE TRUNCATE ON rooms
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
