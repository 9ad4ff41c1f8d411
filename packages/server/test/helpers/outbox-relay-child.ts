/**
 * A stand-alone outbox relay for the crash tests: relays the gift outbox of the PostgreSQL balance
 * shards in `ROOMCAST_LEDGER_SHARDS` into a file (`RELAY_SINK`), one JSON line per published
 * event, until killed. The file stands in for a room's history: it survives `kill -9`, so the test
 * can see every event that was ever published, duplicates included.
 *
 *   node --import tsx packages/server/test/helpers/outbox-relay-child.ts
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { openPostgresLedger } from '../../src/adapters/sql/ledger/ledger-stores.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { GiftEventPublisher } from '../../src/core/gift-event-publisher.ts';
import { OutboxRelay } from '../../src/core/outbox-relay.ts';

const sink = process.env.RELAY_SINK;
if (sink === undefined) throw new Error('set RELAY_SINK');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'RELAY_SINK'));
const config = loadConfig({ env });
const stores = await openPostgresLedger(config);
let seq = existsSync(sink)
  ? readFileSync(sink, 'utf8')
      .split('\n')
      .filter((l) => l !== '').length
  : 0;
const publisher = new GiftEventPublisher({
  outbox: stores.outbox,
  publish: async (event) => {
    // One write(2) per line: a kill leaves whole lines only.
    appendFileSync(sink, `${JSON.stringify({ transfer: event.data.transfer, room: event.roomId })}\n`);
    return ++seq;
  },
  leaseMs: config.ledger.outboxLeaseMs,
});
const relay = new OutboxRelay({
  outbox: stores.outbox,
  publisher,
  leaseMs: config.ledger.outboxLeaseMs,
  batchSize: config.ledger.relayBatchSize,
  intervalMs: config.ledger.relayIntervalMs,
  logger: pino({ level: 'silent' }),
});
relay.start();
void relay.tick();
console.log('relay started');
setInterval(() => undefined, 1 << 30);
