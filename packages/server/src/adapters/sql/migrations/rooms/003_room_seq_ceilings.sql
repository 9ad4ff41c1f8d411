-- The durable high-water mark of each room's event seqs (core/ports/seq-reservations.ts): the room
-- histories in Redis or memory issue seqs only up to a ceiling reserved here first, so a history
-- that is lost restarts above every seq it ever issued. A row of its own, not a column of rooms,
-- because a room leaves this shard for the archive when it ends while its last events (room_end, a
-- late gift) are still being numbered.
CREATE TABLE room_seq_ceilings (
  room_id text COLLATE "C" PRIMARY KEY,
  ceiling bigint NOT NULL,
  CONSTRAINT room_seq_ceilings_id_length CHECK (char_length(room_id) BETWEEN 4 AND 73),
  -- Seqs travel as JSON numbers: keep them exact.
  CONSTRAINT room_seq_ceilings_safe CHECK (ceiling BETWEEN 1 AND 9007199254740991)
);
