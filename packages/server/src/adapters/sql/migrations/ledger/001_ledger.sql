-- One balance shard. Runs with search_path set to the shard's schema: no schema names here.
-- Amounts are bigint in the smallest unit, capped at 2^53 − 1 (Number.MAX_SAFE_INTEGER) so that
-- every amount and balance crosses the wire as an exact JSON number. IDs are ASCII: "C" collation.

-- Which shard this is, of how many: recorded by the first start, checked by every later one, so a
-- changed shard list (users would hash elsewhere) refuses to start instead of losing balances.
CREATE TABLE ledger_meta (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  shard_index integer NOT NULL,
  shard_count integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ledger_meta_index_in_range CHECK (shard_index >= 0 AND shard_index < shard_count)
);

-- User accounts of the users this shard holds. A missing row is a zero balance.
CREATE TABLE balances (
  user_id text COLLATE "C" PRIMARY KEY,
  balance bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT balances_not_negative CHECK (balance >= 0),
  CONSTRAINT balances_json_safe CHECK (balance <= 9007199254740991)
);

-- The virtual account of a room in this shard: what this shard's viewers gave, until settlement
-- moves it to the host. open → closed (the room ended: no more gifts) → settled (paid out).
CREATE TABLE room_accounts (
  room_id text COLLATE "C" PRIMARY KEY,
  host_id text COLLATE "C" NOT NULL,
  status text NOT NULL DEFAULT 'open',
  balance bigint NOT NULL DEFAULT 0,
  -- Everything ever received: the room's total in this shard, kept after settlement.
  received bigint NOT NULL DEFAULT 0,
  opened_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz NULL,
  settled_at timestamptz NULL,
  -- Reconciliation: when an open account is next checked against the rooms store.
  check_after timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT room_accounts_status_valid CHECK (status IN ('open', 'closed', 'settled')),
  CONSTRAINT room_accounts_not_negative CHECK (balance >= 0),
  CONSTRAINT room_accounts_json_safe CHECK (received <= 9007199254740991),
  CONSTRAINT room_accounts_balance_within_received CHECK (balance <= received),
  CONSTRAINT room_accounts_settled_empty CHECK (status <> 'settled' OR balance = 0),
  CONSTRAINT room_accounts_closed_at_iff_not_open CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX room_accounts_open_check ON room_accounts (check_after) WHERE status = 'open';

-- Every movement of money in this shard, once: its ID is the primary key.
--   credit      admin top-up into user_id
--   gift        user_id → room_id's account
--   settle_out  room_id's account → the settlement intent (leaves this shard)
--   settle_in   a settlement intent → user_id (the host), from another shard or this one
CREATE TABLE transfers (
  id text COLLATE "C" PRIMARY KEY,
  kind text NOT NULL,
  user_id text COLLATE "C" NULL,
  room_id text COLLATE "C" NULL,
  amount bigint NOT NULL,
  -- user_id's balance right after the transfer: the receipt a replayed request returns.
  balance_after bigint NULL,
  gift text NULL,
  count integer NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transfers_kind_valid CHECK (kind IN ('credit', 'gift', 'settle_out', 'settle_in')),
  CONSTRAINT transfers_amount_positive CHECK (amount > 0 AND amount <= 9007199254740991),
  CONSTRAINT transfers_parties CHECK (
    (kind = 'credit' AND user_id IS NOT NULL AND room_id IS NULL)
    OR (kind = 'gift' AND user_id IS NOT NULL AND room_id IS NOT NULL AND gift IS NOT NULL AND count BETWEEN 1 AND 999)
    OR (kind = 'settle_out' AND user_id IS NULL AND room_id IS NOT NULL)
    OR (kind = 'settle_in' AND user_id IS NOT NULL AND room_id IS NOT NULL)
  )
);

-- Idempotency-Keys, scoped to the caller (a viewer's gifts, an admin's top-ups), kept in the
-- caller's shard. The primary key makes a key do its work once; request_hash tells a replay
-- (same request) from a conflict (same key, other request).
CREATE TABLE idempotency_keys (
  scope text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  request_hash text NOT NULL,
  transfer_id text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key),
  CONSTRAINT idempotency_keys_kind_valid CHECK (kind IN ('gift', 'credit')),
  CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 128)
);

-- Gift events to publish, written in the gift's transaction (the transactional outbox). A row is
-- leased to one publisher at a time and marked with the event's seq once published.
CREATE TABLE gift_outbox (
  transfer_id text COLLATE "C" PRIMARY KEY REFERENCES transfers (id),
  room_id text COLLATE "C" NOT NULL,
  from_user text COLLATE "C" NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  lease_token text NULL,
  lease_until timestamptz NULL,
  published_at timestamptz NULL,
  seq bigint NULL,
  CONSTRAINT gift_outbox_seq_iff_published CHECK ((published_at IS NULL) = (seq IS NULL))
);
CREATE INDEX gift_outbox_unpublished ON gift_outbox (created_at) WHERE published_at IS NULL;

-- Settlement of the rooms whose host this shard holds: open (live) → settling (ended, not every
-- shard paid yet) → settled (the host has every shard's total).
CREATE TABLE settlements (
  room_id text COLLATE "C" PRIMARY KEY,
  host_id text COLLATE "C" NOT NULL,
  status text NOT NULL,
  opened_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz NULL,
  settled_at timestamptz NULL,
  lease_until timestamptz NULL,
  check_after timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT settlements_status_valid CHECK (status IN ('open', 'settling', 'settled')),
  CONSTRAINT settlements_ended_at_iff_ended CHECK ((status = 'open') = (ended_at IS NULL))
);
CREATE INDEX settlements_due ON settlements (ended_at) WHERE status = 'settling';
CREATE INDEX settlements_open_check ON settlements (check_after) WHERE status = 'open';

-- Source side: what this shard's room account paid out for settlement (one per room). The
-- host's credit uses transfer_id, so however often it is retried it applies once.
CREATE TABLE settlement_intents (
  room_id text COLLATE "C" PRIMARY KEY,
  host_id text COLLATE "C" NOT NULL,
  amount bigint NOT NULL,
  transfer_id text COLLATE "C" NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  credited_at timestamptz NULL,
  CONSTRAINT settlement_intents_amount CHECK (amount >= 0 AND amount <= 9007199254740991),
  CONSTRAINT settlement_intents_transfer_iff_amount CHECK ((amount > 0) = (transfer_id IS NOT NULL))
);

-- Host side: the credit of one source shard's intent. The primary key is what makes the credit
-- exactly-once, whatever settlers crash or run at the same time.
CREATE TABLE settlement_credits (
  room_id text COLLATE "C" NOT NULL,
  source_shard integer NOT NULL,
  amount bigint NOT NULL,
  transfer_id text COLLATE "C" NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, source_shard),
  CONSTRAINT settlement_credits_amount CHECK (amount >= 0 AND amount <= 9007199254740991)
);
