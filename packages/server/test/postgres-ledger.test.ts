import { afterAll, describe, expect, it } from 'vitest';
import { LedgerShardMismatchError } from '../src/adapters/sql/ledger/ledger-shards.ts';
import { openPostgresLedger } from '../src/adapters/sql/ledger/ledger-stores.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { describeLedgerContract } from './contracts/ledger-contract.ts';
import { http } from './helpers/http.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { startTestServer } from './helpers/test-server.ts';

// One private PostgreSQL for this file; each suite gets databases of its own.
let launching: Promise<LaunchedPostgres> | undefined;
const cluster = (): Promise<LaunchedPostgres> => {
  launching ??= launchPostgres({
    databases: [
      'ledger_a0',
      'ledger_a1',
      'ledger_a2',
      'ledger_b0',
      'ledger_b1',
      'ledger_b2',
      'ledger_h0',
      'ledger_h1',
      'ledger_h2',
    ],
  });
  return launching;
};
afterAll(async () => {
  await (await launching?.catch(() => undefined))?.stop();
});

const defaults = configSchema.parse({});
const settingsFor = (shards: string[]) => ({
  ledger: { ...defaults.ledger, shards, poolSize: 20, connectTimeoutMs: 2000 },
  settler: defaults.settler,
});

describeLedgerContract('PostgreSQL (three balance shard databases)', async () => {
  const pg = await cluster();
  const stores = await openPostgresLedger(settingsFor(['a0', 'a1', 'a2'].map((d) => pg.dsn(`ledger_${d}`))));
  return { stores, close: () => stores.close() };
});

describe('PostgreSQL balance shards', () => {
  it('refuse to start when the shard list changed length or order', async () => {
    const pg = await cluster();
    const urls = ['b0', 'b1', 'b2'].map((d) => pg.dsn(`ledger_${d}`));
    const first = await openPostgresLedger(settingsFor(urls));
    await first.close();
    await expect(openPostgresLedger(settingsFor(urls.slice(0, 2)))).rejects.toThrow(LedgerShardMismatchError);
    await expect(openPostgresLedger(settingsFor([urls[1], urls[0], urls[2]] as string[]))).rejects.toThrow(
      /position 0 of 3 configured\) was created as shard 1 of 3/,
    );
    const again = await openPostgresLedger(settingsFor(urls));
    await again.ledger.ping();
    await again.close();
  });

  it('answer 503-style LedgerUnavailableError for a shard that is down, and recover', async () => {
    const pg = await cluster();
    const urls = ['b0', 'b1', 'b2'].map((d) => pg.dsn(`ledger_${d}`));
    const stores = await openPostgresLedger({
      ...settingsFor(urls),
      ledger: { ...settingsFor(urls).ledger, connectTimeoutMs: 500 },
    });
    try {
      const down = await openPostgresLedger(settingsFor(urls.map((u) => u.replace(/:\d+\//, ':1/'))));
      await expect(down.ledger.balance('eu_nobody')).rejects.toMatchObject({
        name: 'LedgerUnavailableError',
      });
      await down.close();
      expect(await stores.ledger.balance('eu_nobody')).toBe(0);
    } finally {
      await stores.close();
    }
  });
});

describe('roomcast dev with balances on PostgreSQL', () => {
  it('takes a gift, settles the ended room into the host shard and shows it in /readyz', async () => {
    const pg = await cluster();
    const srv = await startTestServer({
      ledger: { shards: ['h0', 'h1', 'h2'].map((d) => pg.dsn(`ledger_${d}`)) },
      settler: { intervalMs: 3_600_000 },
    });
    try {
      const admin = await srv.token('us_admin', { roles: ['admin'] });
      const host = await srv.token('ap_host1');
      const viewer = await srv.token('eu_viewer1');
      const credited = await http(srv.httpUrl, 'POST', '/v1/admin/credit', {
        token: admin,
        headers: { 'idempotency-key': 'pg-credit-1' },
        body: { user: 'eu_viewer1', amount: 50 },
      });
      expect(credited.body).toEqual({ balance: 50 });
      const room = (
        await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'pg gifts' } })
      ).body.room.id;
      const gift = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/gifts`, {
        token: viewer,
        headers: { 'idempotency-key': 'pg-gift-1' },
        body: { gift: 'heart', count: 2 },
      });
      expect(gift.status).toBe(201);
      expect(gift.body.transfer).toMatchObject({ amount: 20, balance: 30 });
      await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/end`, { token: host });
      await srv.server.settler.runOnce();
      expect((await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/settlement`, { token: host })).body).toEqual({
        status: 'settled',
        total: 20,
      });
      expect((await http(srv.httpUrl, 'GET', '/v1/me/balance', { token: host })).body).toEqual({
        balance: 20,
      });
      expect((await http(srv.httpUrl, 'GET', '/readyz')).body.checks.ledger).toBe('ok');
    } finally {
      await srv.close();
    }
  });
});
