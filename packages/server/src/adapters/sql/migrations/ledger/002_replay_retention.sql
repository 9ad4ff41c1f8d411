-- The replay-window pruning (ReplayRecords) deletes idempotency keys and published outbox rows
-- oldest first: these indexes let it find them without scanning the tables.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX gift_outbox_published ON gift_outbox (published_at) WHERE published_at IS NOT NULL;
