import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHash } from '../src/core/idempotency.ts';
import { http } from './helpers/http.ts';
import { auditLedger, moneyInvariant } from './helpers/ledger-audit.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

// Gifts, balances, top-ups and settlement over HTTP on `roomcast dev` (PGlite, three balance
// shards). The relay and the settler run only when a test calls them.
let srv: TestServer;
let admin: string;
let n = 0;
const uid = (region = 'eu') => `${region}_g${Date.now().toString(36)}${n++}`;
const MAX = Number.MAX_SAFE_INTEGER;

beforeAll(async () => {
  srv = await startTestServer({
    gifts: { catalogue: { rose: '1:Rose', heart: '10:Heart', whale: `${MAX}:Whale` } },
    settler: { intervalMs: 3_600_000 },
    ledger: { relayIntervalMs: 3_600_000 },
  });
  admin = await srv.token('us_admin', { roles: ['admin'] });
});
afterAll(async () => {
  await srv?.close();
});

async function credit(user: string, amount: number, key = randomUUID()) {
  return http(srv.httpUrl, 'POST', '/v1/admin/credit', {
    token: admin,
    headers: { 'idempotency-key': key },
    body: { user, amount },
  });
}

async function viewerWith(amount: number, region = 'eu') {
  const user = uid(region);
  const token = await srv.token(user);
  expect((await credit(user, amount)).body).toEqual({ balance: amount });
  return { user, token };
}

async function startRoom() {
  const host = uid('us');
  const token = await srv.token(host);
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title: 'gifts' } });
  expect(res.status).toBe(201);
  return { host, token, room: res.body.room.id as string };
}

/** `key` null sends no Idempotency-Key header at all. */
function sendGift(token: string, room: string, body: unknown, key: string | null = randomUUID()) {
  return http(srv.httpUrl, 'POST', `/v1/rooms/${room}/gifts`, {
    token,
    body,
    ...(key === null ? {} : { headers: { 'idempotency-key': key } }),
  });
}

async function balanceOf(token: string): Promise<number> {
  const res = await http(srv.httpUrl, 'GET', '/v1/me/balance', { token });
  expect(res.status).toBe(200);
  return res.body.balance;
}

async function giftEvents(room: string, token: string) {
  const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token });
  return (
    res.body.events as Array<{ seq: number; type: string; from: string; data: Record<string, unknown> }>
  ).filter((e) => e.type === 'gift');
}

async function expectMoneyInvariant() {
  const audit = await auditLedger(srv.server.ledger.shards);
  expect(audit.duplicateTransfers).toEqual([]);
  expect(audit.inconsistencies).toEqual([]);
  const { held, toppedUp } = moneyInvariant(audit);
  expect(held).toBe(toppedUp);
}

describe('gifts over HTTP', () => {
  it('lists the configured catalogue', async () => {
    const res = await http(srv.httpUrl, 'GET', '/v1/gifts', { token: admin });
    expect(res.body).toEqual({
      gifts: [
        { id: 'rose', name: 'Rose', price: 1 },
        { id: 'heart', name: 'Heart', price: 10 },
        { id: 'whale', name: 'Whale', price: MAX },
      ],
    });
    expect((await http(srv.httpUrl, 'GET', '/v1/gifts')).status).toBe(401);
  });

  it('moves money, publishes the gift event under the returned seq, replays by key and settles to the host', async () => {
    const { host, token: hostToken, room } = await startRoom();
    const viewer = await viewerWith(1000);
    const key = randomUUID();
    const sent = await sendGift(viewer.token, room, { gift: 'heart', count: 3 }, key);
    expect(sent.status).toBe(201);
    expect(sent.body).toEqual({
      transfer: { id: expect.any(String), amount: 30, balance: 970 },
      seq: expect.any(Number),
    });
    const [event] = await giftEvents(room, viewer.token);
    expect(event).toMatchObject({
      seq: sent.body.seq,
      type: 'gift',
      from: viewer.user,
      data: { from: viewer.user, gift: 'heart', count: 3, amount: 30, transfer: sent.body.transfer.id },
    });

    const replay = await sendGift(viewer.token, room, { gift: 'heart', count: 3 }, key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(sent.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const changed = await sendGift(viewer.token, room, { gift: 'heart', count: 4 }, key);
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('conflict');
    expect(await balanceOf(viewer.token)).toBe(970);
    expect(await giftEvents(room, viewer.token)).toHaveLength(1);

    const settlement = `/v1/rooms/${room}/settlement`;
    expect((await http(srv.httpUrl, 'GET', settlement, { token: hostToken })).body).toEqual({
      status: 'open',
      total: 30,
    });
    expect((await http(srv.httpUrl, 'GET', settlement, { token: viewer.token })).status).toBe(403);

    expect((await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/end`, { token: hostToken })).status).toBe(200);
    const late = await sendGift(viewer.token, room, { gift: 'rose', count: 1 });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('room_ended');
    // A replay still gets the first answer after the end.
    expect((await sendGift(viewer.token, room, { gift: 'heart', count: 3 }, key)).body).toEqual(sent.body);
    expect((await http(srv.httpUrl, 'GET', settlement, { token: admin })).body).toEqual({
      status: 'settling',
      total: 30,
    });

    const run = await srv.server.settler.runOnce();
    expect(run.failed).toBe(0);
    expect((await http(srv.httpUrl, 'GET', settlement, { token: hostToken })).body).toEqual({
      status: 'settled',
      total: 30,
    });
    expect(await balanceOf(hostToken)).toBe(30);
    expect(await balanceOf(viewer.token)).toBe(970);
    expect(host).toBeDefined();
    await expectMoneyInvariant();
  });

  it('answers 402 insufficient_funds when the balance is short and moves nothing', async () => {
    const { room } = await startRoom();
    const viewer = await viewerWith(5);
    const res = await sendGift(viewer.token, room, { gift: 'heart', count: 1 });
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe('insufficient_funds');
    expect(await balanceOf(viewer.token)).toBe(5);
    expect(await giftEvents(room, viewer.token)).toEqual([]);
  });

  it('refuses bad gift requests with a clear 4xx and moves nothing', async () => {
    const { token: hostToken, room } = await startRoom();
    const { room: endedRoom, token: endedHost } = await startRoom();
    await http(srv.httpUrl, 'POST', `/v1/rooms/${endedRoom}/end`, { token: endedHost });
    const viewer = await viewerWith(100);
    const cases: Array<[string, () => ReturnType<typeof sendGift>, number, string]> = [
      ['count 0', () => sendGift(viewer.token, room, { gift: 'rose', count: 0 }), 400, 'bad_request'],
      ['negative count', () => sendGift(viewer.token, room, { gift: 'rose', count: -1 }), 400, 'bad_request'],
      [
        'fractional count',
        () => sendGift(viewer.token, room, { gift: 'rose', count: 1.5 }),
        400,
        'bad_request',
      ],
      [
        'count as a string',
        () => sendGift(viewer.token, room, { gift: 'rose', count: '2' }),
        400,
        'bad_request',
      ],
      ['count 1000', () => sendGift(viewer.token, room, { gift: 'rose', count: 1000 }), 400, 'bad_request'],
      ['no gift', () => sendGift(viewer.token, room, { count: 1 }), 400, 'bad_request'],
      ['unknown gift', () => sendGift(viewer.token, room, { gift: 'tulip', count: 1 }), 400, 'bad_request'],
      ['gift not a string', () => sendGift(viewer.token, room, { gift: 7, count: 1 }), 400, 'bad_request'],
      [
        'amount overflow',
        () => sendGift(viewer.token, room, { gift: 'whale', count: 2 }),
        400,
        'bad_request',
      ],
      ['unknown room', () => sendGift(viewer.token, 'us_nosuchroom', { gift: 'rose' }), 404, 'not_found'],
      ['malformed room', () => sendGift(viewer.token, 'no-region', { gift: 'rose' }), 400, 'bad_request'],
      ['unserved region', () => sendGift(viewer.token, 'zz_room', { gift: 'rose' }), 400, 'bad_request'],
      ['ended room', () => sendGift(viewer.token, endedRoom, { gift: 'rose' }), 409, 'room_ended'],
      ['no key', () => sendGift(viewer.token, room, { gift: 'rose' }, null), 400, 'bad_request'],
      ['empty key', () => sendGift(viewer.token, room, { gift: 'rose' }, ''), 400, 'bad_request'],
      [
        '129-char key',
        () => sendGift(viewer.token, room, { gift: 'rose' }, 'k'.repeat(129)),
        400,
        'bad_request',
      ],
      ['key with a space', () => sendGift(viewer.token, room, { gift: 'rose' }, 'a b'), 400, 'bad_request'],
      ['own room', () => sendGift(hostToken, room, { gift: 'rose' }), 403, 'forbidden'],
      [
        'not JSON',
        () =>
          http(srv.httpUrl, 'POST', `/v1/rooms/${room}/gifts`, {
            token: viewer.token,
            headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
            rawBody: '{"gift":',
          }),
        400,
        'bad_request',
      ],
      [
        'no token',
        () => http(srv.httpUrl, 'POST', `/v1/rooms/${room}/gifts`, { body: { gift: 'rose' } }),
        401,
        'unauthorized',
      ],
    ];
    for (const [name, call, status, code] of cases) {
      const res = await call();
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
    }
    expect(await balanceOf(viewer.token)).toBe(100);
    expect(await balanceOf(hostToken)).toBe(0);
    expect(await giftEvents(room, viewer.token)).toEqual([]);
    // The 128-character key is fine.
    expect((await sendGift(viewer.token, room, { gift: 'rose' }, 'k'.repeat(128))).status).toBe(201);
    await expectMoneyInvariant();
  });

  it('refuses bad top-ups with a clear 4xx and credits once per key', async () => {
    const user = uid('ap');
    const token = await srv.token(user);
    const key = randomUUID();
    expect((await credit(user, 25, key)).body).toEqual({ balance: 25 });
    expect((await credit(user, 25, key)).body).toEqual({ balance: 25 });
    const conflict = await credit(user, 26, key);
    expect([conflict.status, conflict.body.error.code]).toEqual([409, 'conflict']);
    const raw = (body: string, headers: Record<string, string> = { 'idempotency-key': randomUUID() }) =>
      http(srv.httpUrl, 'POST', '/v1/admin/credit', { token: admin, headers, rawBody: body });
    const cases: Array<[string, () => ReturnType<typeof credit>, number]> = [
      [
        'not an admin',
        () =>
          http(srv.httpUrl, 'POST', '/v1/admin/credit', {
            token,
            headers: { 'idempotency-key': randomUUID() },
            body: { user, amount: 5 },
          }),
        403,
      ],
      ['zero', () => credit(user, 0), 400],
      ['negative', () => credit(user, -5), 400],
      ['fraction', () => credit(user, 1.5), 400],
      ['string', () => raw(`{"user":"${user}","amount":"5"}`), 400],
      ['beyond 2^53 - 1', () => raw(`{"user":"${user}","amount":9007199254740993}`), 400],
      ['malformed user', () => credit('nobody', 5), 400],
      ['unserved region', () => credit('zz_nobody', 5), 400],
      ['no key', () => raw(`{"user":"${user}","amount":5}`, {}), 400],
      ['overflowing balance', () => credit(user, MAX), 400],
    ];
    for (const [name, call, status] of cases) {
      const res = await call();
      expect({ name, status: res.status }).toEqual({ name, status });
    }
    expect(await balanceOf(token)).toBe(25);
    await expectMoneyInvariant();
  });

  it('answers settlement reads with 404 for unknown rooms and settled/0 for a room without gifts', async () => {
    expect(
      (await http(srv.httpUrl, 'GET', '/v1/rooms/us_nosuchroom/settlement', { token: admin })).status,
    ).toBe(404);
    const { token, room } = await startRoom();
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/end`, { token });
    await srv.server.settler.runOnce();
    expect((await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/settlement`, { token })).body).toEqual({
      status: 'settled',
      total: 0,
    });
  });

  it('keeps gifts on their own rate budget: a comment flood does not block them', async () => {
    const { room } = await startRoom();
    const viewer = await viewerWith(10);
    let limited = false;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
        token: viewer.token,
        body: { type: 'comment', data: { text: `flood ${i}` } },
      });
      limited = res.status === 429;
    }
    expect(limited).toBe(true);
    expect((await sendGift(viewer.token, room, { gift: 'rose' })).status).toBe(201);
  });

  it('publishes the event of a gift whose request died after COMMIT, through the relay, and replays its seq', async () => {
    const { host, room } = await startRoom();
    const viewer = await viewerWith(50);
    const key = randomUUID();
    // What a request does before it crashes: the ledger transaction, and no publication.
    const outcome = await srv.server.ledger.ledger.gift({
      userId: viewer.user,
      key,
      requestHash: requestHash(['gift', room, 'heart', 2]),
      room: { id: room, hostId: host },
      amount: 20,
      event: { gift: 'heart', count: 2 },
      leaseMs: 1,
    });
    expect(outcome.kind).toBe('applied');
    // Time has to pass: the row's 1 ms lease lapses (50 times over), so the relay may take it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await giftEvents(room, viewer.token)).toEqual([]);
    expect((await srv.server.relay.runOnce()).published).toBeGreaterThanOrEqual(1);
    await srv.server.relay.runOnce();
    const events = await giftEvents(room, viewer.token);
    expect(events).toHaveLength(1);
    const replay = await sendGift(viewer.token, room, { gift: 'heart', count: 2 }, key);
    expect(replay.body).toEqual({
      transfer: { id: events[0]?.data.transfer, amount: 20, balance: 30 },
      seq: events[0]?.seq,
    });
  });

  it('settles a room whose end never reached the ledger (reconciliation with the rooms store)', async () => {
    const { token: hostToken, room } = await startRoom();
    const viewer = await viewerWith(40);
    expect((await sendGift(viewer.token, room, { gift: 'heart', count: 4 })).status).toBe(201);
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/end`, { token: hostToken });
    // Undo the end's effect on the ledger, as if the process died between ending and closing.
    for (const shard of srv.server.ledger.shards.all()) {
      await shard.client.query(
        `UPDATE ${shard.t('room_accounts')} SET status = 'open', closed_at = NULL, check_after = now() - interval '1 second' WHERE room_id = $1`,
        [room],
      );
      await shard.client.query(
        `UPDATE ${shard.t('settlements')} SET status = 'open', ended_at = NULL, check_after = now() - interval '1 second' WHERE room_id = $1`,
        [room],
      );
    }
    const run = await srv.server.settler.runOnce();
    expect(run.reconciled).toBeGreaterThanOrEqual(1);
    expect(
      (await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/settlement`, { token: hostToken })).body,
    ).toEqual({
      status: 'settled',
      total: 40,
    });
    expect(await balanceOf(hostToken)).toBe(40);
    await expectMoneyInvariant();
  });
});
