/**
 * What the suite reads once the workload stopped: each room's whole history, the peer targets'
 * inboxes, the settlements of the ended rooms and every balance, and the checks over them.
 */
import { http, isRecord, retryable, sleep } from './http.ts';
import type { Check } from './report.ts';
import type { Viewer } from './viewer.ts';
import type { Ack, GiftRecord } from './workload.ts';

export interface StoredEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** GET with retries on 5xx and network errors (bounded). */
async function getJson(url: string, token: string): Promise<Record<string, unknown> | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await http('GET', url, { token, timeoutMs: 10_000 });
    if (result.status === 200 && isRecord(result.body)) return result.body;
    if (!retryable(result)) return undefined;
    await sleep(500);
  }
  return undefined;
}

/**
 * The lowest cursor the room's current history can be read from: 0, or — when its epoch began
 * above 0 (a history lost or fenced, restarted above the durable ceiling) — found by bisection
 * between 0 and the newest seq, since a cursor below the retained history answers `reset`.
 */
async function firstReadableCursor(api: string, room: string, token: string): Promise<number | undefined> {
  const resets = async (cursor: number) =>
    (await getJson(`${api}/v1/rooms/${room}/events?cursor=${cursor}&limit=1`, token))?.reset === true;
  if (!(await resets(0))) return 0;
  const newest = await getJson(`${api}/v1/rooms/${room}/events?limit=1`, token);
  if (newest === undefined) return undefined;
  let low = 0;
  let high = Number(newest.cursor);
  while (low + 1 < high) {
    const mid = Math.floor((low + high) / 2);
    if (await resets(mid)) low = mid;
    else high = mid;
  }
  return high;
}

/** The whole retained history of `room`, from its first readable seq, 500 at a time. */
export async function readHistory(
  api: string,
  room: string,
  token: string,
): Promise<{ events: StoredEvent[]; complete: boolean; reset: boolean }> {
  const events: StoredEvent[] = [];
  const start = await firstReadableCursor(api, room, token);
  if (start === undefined) return { events, complete: false, reset: false };
  let cursor = start;
  let reset = start > 0;
  for (let page = 0; page < 400; page++) {
    const body = await getJson(`${api}/v1/rooms/${room}/events?cursor=${cursor}&limit=500`, token);
    if (body === undefined) return { events, complete: false, reset };
    if (body.reset === true) reset = true;
    const batch = (body.events ?? []) as StoredEvent[];
    if (batch.length === 0) return { events, complete: true, reset };
    events.push(...batch);
    cursor = Number(body.cursor);
  }
  return { events, complete: false, reset };
}

/** Every peer message ID in `token`'s inbox. */
export async function readInbox(api: string, token: string): Promise<Set<string> | undefined> {
  const ids = new Set<string>();
  let cursor = 0;
  for (let page = 0; page < 50; page++) {
    const body = await getJson(`${api}/v1/inbox?cursor=${cursor}&limit=100`, token);
    if (body === undefined) return undefined;
    const messages = (body.messages ?? []) as { id: string; seq: number }[];
    if (messages.length === 0) return ids;
    for (const m of messages) ids.add(m.id);
    cursor = Number(body.cursor);
  }
  return ids;
}

/** Ends `room` as its host and waits until its settlement is `settled` (bounded). */
export async function endAndSettle(
  api: string,
  room: string,
  hostToken: string,
  deadlineMs: number,
): Promise<{ status: string; total: number; seconds: number }> {
  const started = Date.now();
  for (let attempt = 0; attempt < 30; attempt++) {
    const result = await http('POST', `${api}/v1/rooms/${room}/end`, { token: hostToken, timeoutMs: 10_000 });
    if (!retryable(result)) break;
    await sleep(500);
  }
  let last = { status: 'unknown', total: -1 };
  while (Date.now() - started < deadlineMs) {
    const body = await getJson(`${api}/v1/rooms/${room}/settlement`, hostToken);
    if (body !== undefined) last = { status: String(body.status), total: Number(body.total) };
    if (last.status === 'settled') break;
    await sleep(1000);
  }
  return { ...last, seconds: (Date.now() - started) / 1000 };
}

/** Live room IDs as the rooms API lists them (every page), or undefined when a page failed. */
async function liveRoomsOfApi(api: string, token: string): Promise<Set<string> | undefined> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const body = await getJson(`${api}/v1/rooms?status=live&limit=200${query}`, token);
    if (body === undefined || (body.unavailableRegions as unknown[] | undefined)?.length) return undefined;
    for (const room of (body.rooms ?? []) as { id: string }[]) ids.add(room.id);
    cursor = typeof body.next === 'string' ? body.next : null;
    if (cursor === null) return ids;
  }
  return undefined;
}

/**
 * Whether OngoingQuery's live rooms are the shards' live rooms, as the API lists them: polled
 * until they match or `deadlineMs` passes (the feed keeps it current; a rescan repairs a loss).
 */
export async function ongoingMatchesShards(
  api: string,
  ongoing: string,
  token: string,
  deadlineMs: number,
): Promise<{ ok: boolean; detail: string; seconds: number }> {
  const started = Date.now();
  let detail = 'never read';
  while (Date.now() - started < deadlineMs) {
    const shards = await liveRoomsOfApi(api, token);
    const held = await getJson(`${ongoing}/v1/ongoing?index=0&count=1`, token);
    if (shards !== undefined && held !== undefined && held.ready === true) {
      const ids = new Set(((held.rooms ?? []) as { id: string }[]).map((r) => r.id));
      const missing = [...shards].filter((id) => !ids.has(id));
      const extra = [...ids].filter((id) => !shards.has(id));
      detail = `${shards.size} live on the shards, ${ids.size} in OngoingQuery; missing ${missing.length}, extra ${extra.length}`;
      if (missing.length === 0 && extra.length === 0)
        return { ok: true, detail, seconds: (Date.now() - started) / 1000 };
    }
    await sleep(500);
  }
  return { ok: false, detail, seconds: (Date.now() - started) / 1000 };
}

export async function balanceOf(api: string, token: string): Promise<number | undefined> {
  const body = await getJson(`${api}/v1/me/balance`, token);
  return typeof body?.balance === 'number' ? body.balance : undefined;
}

/** Comments: acked but nowhere (lost), one text under several seqs, an ack whose seq holds another text. */
export function commentFindings(
  acks: readonly Ack[],
  delivered: ReadonlyMap<string, Set<number>>,
  histories: ReadonlyMap<string, StoredEvent[]>,
): { lost: Ack[]; storedTwice: Map<string, number[]>; mismatched: Ack[] } {
  const stored = new Map<string, Set<number>>();
  const bySeq = new Map<string, string>();
  for (const [room, events] of histories) {
    for (const event of events) {
      const text = event.data?.text;
      if (event.type !== 'comment' || typeof text !== 'string' || !text.startsWith('chaos-')) continue;
      const key = `${room}#${text}`;
      const seqs = stored.get(key) ?? new Set<number>();
      seqs.add(event.seq);
      stored.set(key, seqs);
      bySeq.set(`${room}#${event.seq}`, text);
    }
  }
  const storedTwice = new Map<string, number[]>();
  for (const key of new Set([...stored.keys(), ...delivered.keys()])) {
    const seqs = new Set([...(stored.get(key) ?? []), ...(delivered.get(key) ?? [])]);
    if (seqs.size > 1)
      storedTwice.set(
        key,
        [...seqs].sort((a, b) => a - b),
      );
  }
  const lost: Ack[] = [];
  const mismatched: Ack[] = [];
  for (const ack of acks) {
    const key = `${ack.room}#${ack.text}`;
    if (!stored.has(key) && !delivered.has(key)) lost.push(ack);
    const atSeq = bySeq.get(`${ack.room}#${ack.seq}`);
    if (atSeq !== undefined && atSeq !== ack.text) mismatched.push(ack);
  }
  return { lost, storedTwice, mismatched };
}

/** The money checks: every balance as the acknowledged gifts say, every gift counted once. */
export function moneyChecks(input: {
  credited: ReadonlyMap<string, number>;
  gifts: readonly GiftRecord[];
  balances: ReadonlyMap<string, number | undefined>;
  settlements: ReadonlyMap<string, { status: string; total: number; host: string }>;
  giftEvents: ReadonlyMap<string, number>;
}): Check[] {
  const checks: Check[] = [];
  const totalCredited = [...input.credited.values()].reduce((a, b) => a + b, 0);
  const acked = input.gifts.filter((g) => g.acked !== undefined);
  const unresolved = input.gifts.filter((g) => g.acked === undefined && g.refused === undefined);
  checks.push({
    name: 'every gift answered (acknowledged or refused) after resending with its key',
    ok: unresolved.length === 0,
    detail: `${acked.length} acknowledged, ${input.gifts.length - acked.length - unresolved.length} refused (4xx), ${unresolved.length} unresolved`,
  });
  const transfers = new Map<string, number>();
  for (const g of acked) transfers.set(g.acked!.transfer, (transfers.get(g.acked!.transfer) ?? 0) + 1);
  const sharedTransfers = [...transfers.values()].filter((n) => n > 1).length;
  checks.push({
    name: 'one transfer per gift key',
    ok: sharedTransfers === 0,
    detail: `${transfers.size} transfers for ${acked.length} acknowledged keys`,
  });
  const wrong: string[] = [];
  for (const [user, credit] of input.credited) {
    const spent = acked.filter((g) => g.sender === user).reduce((sum, g) => sum + g.acked!.amount, 0);
    const balance = input.balances.get(user);
    if (balance !== credit - spent) wrong.push(`${user}: ${balance} ≠ ${credit} − ${spent}`);
  }
  checks.push({
    name: 'each viewer’s balance = credited − acknowledged gifts',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? `${input.credited.size} viewers` : wrong.slice(0, 5).join('; '),
  });
  for (const [room, settlement] of input.settlements) {
    const expected = acked.filter((g) => g.room === room).reduce((sum, g) => sum + g.acked!.amount, 0);
    const hostBalance = input.balances.get(settlement.host);
    checks.push({
      name: `room ${room}: settled, total = acknowledged gifts, paid to the host once`,
      ok: settlement.status === 'settled' && settlement.total === expected && hostBalance === expected,
      detail: `status ${settlement.status}, total ${settlement.total}, acknowledged ${expected}, host balance ${hostBalance}`,
    });
  }
  const sum = [...input.balances.values()].reduce<number>((a, b) => a + (b ?? Number.NaN), 0);
  checks.push({
    name: 'sum of all balances = total credited',
    ok: sum === totalCredited,
    detail: `${sum} vs ${totalCredited}`,
  });
  const missing = acked.filter((g) => (input.giftEvents.get(g.acked!.transfer) ?? 0) === 0).length;
  const repeated = [...input.giftEvents.values()].filter((n) => n > 1).length;
  checks.push({
    name: 'each acknowledged gift’s event is in the room’s history',
    ok: missing === 0,
    detail: `${missing} missing; ${repeated} transfers with more than one event (at least once by design: clients de-duplicate on data.transfer)`,
  });
  return checks;
}

/** Viewers whose last seen version of a partial differs from the server's. */
export function stateDivergence(
  viewers: readonly Viewer[],
  serverVersions: ReadonlyMap<string, number>,
): string[] {
  return viewers
    .filter((v) => (v.state.get('title') ?? 0) !== (serverVersions.get(v.room) ?? 0))
    .map((v) => `${v.user} v${v.state.get('title') ?? 0}/${serverVersions.get(v.room)}`);
}
