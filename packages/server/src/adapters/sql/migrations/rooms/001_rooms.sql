-- Rooms of one region shard. Runs with search_path set to the shard's schema: no schema names here.
-- IDs are ASCII; the "C" collation makes their order byte order on every server (and in JS).
CREATE TABLE rooms (
  id text COLLATE "C" PRIMARY KEY,
  host_id text COLLATE "C" NOT NULL,
  title text NOT NULL,
  visibility text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz NULL,
  -- IDs are `<region>_<rest>`, region 2–8 and rest 1–64 characters (PROTOCOL.md, Identity).
  CONSTRAINT rooms_id_length CHECK (char_length(id) BETWEEN 4 AND 73),
  CONSTRAINT rooms_host_id_length CHECK (char_length(host_id) BETWEEN 4 AND 73),
  -- A room ID begins with its host's region prefix: that is what routes it to this shard.
  CONSTRAINT rooms_id_in_host_region CHECK (split_part(id, '_', 1) = split_part(host_id, '_', 1)),
  CONSTRAINT rooms_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  CONSTRAINT rooms_visibility_valid CHECK (visibility IN ('public', 'private')),
  CONSTRAINT rooms_status_valid CHECK (status IN ('live', 'ended')),
  -- ended_at is set exactly when the room has ended.
  CONSTRAINT rooms_ended_at_iff_ended CHECK ((status = 'ended') = (ended_at IS NOT NULL))
);

-- At most one live room per host, enforced even under concurrent creates; the repository maps a
-- violation of this index (by name) to HostHasLiveRoomError.
CREATE UNIQUE INDEX rooms_one_live_per_host ON rooms (host_id) WHERE status = 'live';

-- listLive: live rooms newest first. Partial, so the many short ended rooms do not bloat it.
CREATE INDEX rooms_live_newest_first ON rooms (started_at DESC, id DESC) WHERE status = 'live';
