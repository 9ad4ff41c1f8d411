import type { ServerFrame } from '@roomcast/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

/**
 * Property over random worlds — rooms (public or private, each with its host), users with random
 * claims (roles, the `rooms` claim), random moderation, peer signals, joins and pulls: a client
 * never gets a room's events or state (`ts`, `ss`, a pull answer) of a private room it may not
 * see, nothing of a room after it was banned from it, and no peer signal addressed to someone
 * else. The oracle is computed from the world as the contract defines it. Reproduce a failure
 * with ROOMCAST_FUZZ_SEED=<seed>.
 */

const SEED = Number(process.env.ROOMCAST_FUZZ_SEED ?? 20261204);
const WORLDS = Number(process.env.ROOMCAST_FUZZ_RUNS ?? 60);
const WAIT_MS = 5_000;

let srv: TestServer;
let observer: string;
let unique = 0;

beforeAll(async () => {
  srv = await startTestServer({
    limits: { userEventsPerSecond: 100_000, roomEventsPerSecond: 100_000, userHighPerSecond: 100_000 },
  });
  // An admin who may read every room: it tells the room's newest seq at a ban.
  observer = await srv.token(`us_observer-${Date.now().toString(36)}`, { roles: ['admin'] });
});

afterAll(async () => {
  await srv?.close();
});

// ---------------------------------------------------------------------------------------------
// Worlds.

type Role = 'none' | 'admin' | 'service';
type Pull = 'events' | 'state' | 'version';
type Action =
  | { k: 'join'; user: number; room: number }
  | { k: 'leave'; user: number; room: number }
  | { k: 'pull'; user: number; room: number; what: Pull }
  | { k: 'inbox'; user: number }
  | { k: 'publish'; user: number; room: number }
  | { k: 'state'; user: number; room: number }
  | {
      k: 'moderate';
      by: number | 'host';
      room: number;
      action: 'ban' | 'kick' | 'mute' | 'unmute';
      target: number;
    }
  | { k: 'peer'; by: number | 'host'; room: number; to: number[]; stranger: boolean };

interface World {
  rooms: Array<{ visibility: 'public' | 'private' }>;
  /** Users 0 … rooms-1 host the rooms of the same index. */
  users: Array<{ region: 'us' | 'eu' | 'ap'; role: Role; claims: number[] }>;
  actions: Action[];
}

const MAX_ROOMS = 3;
const MAX_USERS = 6;

const user = fc.nat(MAX_USERS - 1);
const room = fc.nat(MAX_ROOMS - 1);
const by = fc.oneof({ weight: 3, arbitrary: fc.constant('host' as const) }, { weight: 1, arbitrary: user });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('join' as const), user, room }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('leave' as const), user, room }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('pull' as const),
      user,
      room,
      what: fc.constantFrom<Pull>('events', 'state', 'version'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('inbox' as const), user }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('publish' as const), user, room }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('state' as const), user, room }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('moderate' as const),
      by,
      room,
      action: fc.constantFrom(
        'ban' as const,
        'ban' as const,
        'kick' as const,
        'mute' as const,
        'unmute' as const,
      ),
      target: user,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('peer' as const),
      by,
      room,
      to: fc.uniqueArray(user, { minLength: 1, maxLength: 3 }),
      stranger: fc.boolean(),
    }),
  },
);

/** Indices in actions are taken modulo the world's sizes, so worlds and actions shrink independently. */
const world: fc.Arbitrary<World> = fc.record({
  rooms: fc.array(fc.record({ visibility: fc.constantFrom('public' as const, 'private' as const) }), {
    minLength: 1,
    maxLength: MAX_ROOMS,
  }),
  users: fc.array(
    fc.record({
      region: fc.constantFrom('us' as const, 'eu' as const, 'ap' as const),
      role: fc.oneof(
        { weight: 4, arbitrary: fc.constant<Role>('none') },
        { weight: 1, arbitrary: fc.constantFrom<Role>('admin', 'service') },
      ),
      claims: fc.subarray([0, 1, 2]),
    }),
    { minLength: MAX_ROOMS + 1, maxLength: MAX_USERS },
  ),
  actions: fc.array(action, { minLength: 1, maxLength: 40, size: 'max' }),
});

/** The world's actions with every user and room index brought within the world's sizes. */
function normalized(w: World): Action[] {
  const u = (i: number) => i % w.users.length;
  const r = (i: number) => i % w.rooms.length;
  return w.actions.map((a): Action => {
    switch (a.k) {
      case 'inbox':
        return { ...a, user: u(a.user) };
      case 'moderate':
        return { ...a, by: a.by === 'host' ? 'host' : u(a.by), room: r(a.room), target: u(a.target) };
      case 'peer':
        return {
          ...a,
          by: a.by === 'host' ? 'host' : u(a.by),
          room: r(a.room),
          to: [...new Set(a.to.map(u))],
        };
      default:
        return { ...a, user: u(a.user), room: r(a.room) };
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Running a world against the server, with the oracle alongside.

const key = (user: string, room: string) => `${user}|${room}`;

/** Waits for the first frame at or after index `from` that matches. */
async function frameAfter(
  client: WsTestClient,
  from: number,
  match: (f: ServerFrame) => boolean,
  what: string,
): Promise<ServerFrame> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = client.frames.slice(from).find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitUntil(done: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function runWorld(w: World): Promise<void> {
  const tag = (unique++).toString(36) + Date.now().toString(36).slice(-5);
  const ids = w.users.map((u, i) => `${u.region}_w${tag}u${i}`);
  const userId = (i: number) => ids[i] as string;
  const roomIds: string[] = [];
  for (const [i, room] of w.rooms.entries()) {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(userId(i)),
      body: { title: `world ${tag} room ${i}`, visibility: room.visibility },
    });
    if (res.status !== 201) throw new Error(`room not created: ${res.status} ${JSON.stringify(res.body)}`);
    roomIds.push(res.body.room.id as string);
  }
  const roomId = (i: number) => roomIds[i] as string;
  const privileged = (i: number) => w.users[i]?.role !== 'none';
  const isAdmin = (i: number) => w.users[i]?.role === 'admin';
  const isHost = (u: number, r: number) => u === r;
  const canSee = (u: number, r: number) =>
    w.rooms[r]?.visibility === 'public' ||
    isHost(u, r) ||
    privileged(u) ||
    (w.users[u]?.claims ?? []).includes(r);

  const tokens = await Promise.all(
    w.users.map((u, i) =>
      srv.token(userId(i), {
        roles: u.role === 'none' ? [] : [u.role],
        rooms: u.claims.filter((r) => r < roomIds.length).map(roomId),
      }),
    ),
  );
  const token = (i: number) => tokens[i] as string;
  const clients = await Promise.all(tokens.map((t) => WsTestClient.connect(srv.wsUrl, t)));
  const client = (i: number) => clients[i] as WsTestClient;

  // The oracle's view of the world.
  const joined = new Set<string>();
  const members = new Set<string>();
  const banned = new Set<string>();
  const muted = new Set<string>();
  /** The room's newest seq when the user was banned: the user never gets a later event of it. */
  const banTop = new Map<string, number>();
  /** Index in the user's frames of the `left` (banned) frame, or of the ban when the user was not joined. */
  const banFrame = new Map<string, number>();
  const peersFor = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  /** Moderation notices each user was sent, as `room|action`. */
  const noticesFor = new Map<string, string[]>(ids.map((id) => [id, []]));

  const refused = (u: number, r: number) =>
    !canSee(u, r) ? ['forbidden', 'banned'] : banned.has(key(userId(u), roomId(r))) ? ['banned'] : [];

  try {
    for (const [step, a] of normalized(w).entries()) {
      const at = `step ${step} ${JSON.stringify(a)}`;
      switch (a.k) {
        case 'join': {
          const u = userId(a.user);
          const r = roomId(a.room);
          if (joined.has(key(u, r))) break;
          const c = client(a.user);
          const from = c.frames.length;
          c.send({ op: 'join', room: r });
          const f = await frameAfter(
            c,
            from,
            (x) => (x.op === 'joined' || x.op === 'error') && x.room === r,
            `answer to ${at}`,
          );
          const expected = refused(a.user, a.room);
          if (expected.length === 0) {
            expect(f.op, at).toBe('joined');
            joined.add(key(u, r));
            members.add(key(u, r));
          } else {
            expect(f.op === 'error' && expected.includes(f.code), `${at}: ${JSON.stringify(f)}`).toBe(true);
          }
          break;
        }
        case 'leave': {
          const u = userId(a.user);
          const r = roomId(a.room);
          if (!joined.has(key(u, r))) break;
          const c = client(a.user);
          const from = c.frames.length;
          c.send({ op: 'leave', room: r });
          await frameAfter(c, from, (x) => x.op === 'left' && x.room === r, `left for ${at}`);
          joined.delete(key(u, r));
          break;
        }
        case 'pull': {
          const r = roomId(a.room);
          const path = {
            events: `/v1/rooms/${r}/events`,
            state: `/v1/rooms/${r}/state`,
            version: `/v1/rooms/${r}/state/version`,
          }[a.what];
          const res = await http(srv.httpUrl, 'GET', path, { token: token(a.user) });
          const expected = refused(a.user, a.room);
          if (expected.length === 0) {
            expect(res.status, `${at}: ${JSON.stringify(res.body)}`).toBe(200);
            if (a.what === 'events') members.add(key(userId(a.user), r));
          } else {
            expect(
              res.status === 403 && expected.includes(res.body?.error?.code),
              `${at}: a pull refused with ${expected.join(' or ')}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
            ).toBe(true);
          }
          break;
        }
        case 'inbox': {
          const res = await http(srv.httpUrl, 'GET', '/v1/inbox', { token: token(a.user) });
          expect(res.status, at).toBe(200);
          checkInboxSafety(userId(a.user), res.body.messages, at);
          break;
        }
        case 'publish': {
          const u = userId(a.user);
          const r = roomId(a.room);
          const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${r}/events`, {
            token: token(a.user),
            body: { type: 'comment', data: { text: `from ${a.user}` } },
          });
          const expected = !canSee(a.user, a.room)
            ? ['forbidden', 'banned']
            : privileged(a.user)
              ? []
              : banned.has(key(u, r))
                ? ['banned']
                : muted.has(key(u, r))
                  ? ['muted']
                  : [];
          if (expected.length === 0) expect(res.status, `${at}: ${JSON.stringify(res.body)}`).toBe(201);
          else
            expect(
              res.status === 403 && expected.includes(res.body?.error?.code),
              `${at}: ${res.status} ${JSON.stringify(res.body)}`,
            ).toBe(true);
          break;
        }
        case 'state': {
          const res = await http(srv.httpUrl, 'PUT', `/v1/rooms/${roomId(a.room)}/state/score`, {
            token: token(a.user),
            body: { value: { step } },
          });
          const allowed = isHost(a.user, a.room) || isAdmin(a.user);
          expect(res.status, `${at}: ${JSON.stringify(res.body)}`).toBe(allowed ? 200 : 403);
          break;
        }
        case 'moderate': {
          const by = a.by === 'host' ? a.room : a.by;
          // Only ordinary users are moderated here, and never the room's own host.
          if (privileged(a.target) || isHost(a.target, a.room)) break;
          const u = userId(a.target);
          const r = roomId(a.room);
          const c = client(a.target);
          const from = c.frames.length;
          const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${r}/moderation`, {
            token: token(by),
            body: { action: a.action, user: u },
          });
          const allowed = isHost(by, a.room) || isAdmin(by);
          expect(res.status, `${at}: ${JSON.stringify(res.body)}`).toBe(allowed ? 200 : 403);
          if (!allowed) break;
          noticesFor.get(u)?.push(`${r}|${a.action}`);
          if (a.action === 'mute') muted.add(key(u, r));
          if (a.action === 'unmute') muted.delete(key(u, r));
          if (a.action === 'kick' || a.action === 'ban') {
            if (joined.has(key(u, r))) {
              const reason = a.action === 'kick' ? 'kicked' : 'banned';
              await frameAfter(
                c,
                from,
                (x) => x.op === 'left' && x.room === r && x.reason === reason,
                `left (${reason}) after ${at}`,
              );
              joined.delete(key(u, r));
            }
          }
          if (a.action === 'ban' && !banned.has(key(u, r))) {
            banned.add(key(u, r));
            const left = c.frames.findIndex((x, i) => i >= from && x.op === 'left' && x.room === r);
            banFrame.set(key(u, r), left === -1 ? from : left);
            const top = await http(srv.httpUrl, 'GET', `/v1/rooms/${r}/events?limit=1`, { token: observer });
            banTop.set(key(u, r), top.body.cursor as number);
          }
          break;
        }
        case 'peer': {
          const by = a.by === 'host' ? a.room : a.by;
          const r = roomId(a.room);
          const targets = a.to.map(userId);
          if (a.stranger) targets.push(`eu_w${tag}stranger`);
          const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${r}/peer`, {
            token: token(by),
            body: { to: targets, type: 'note', data: { step } },
          });
          // Admins and services may address anyone; the host only users who have been in the room.
          const allowed =
            privileged(by) || (isHost(by, a.room) && targets.every((t) => members.has(key(t, r))));
          expect(res.status, `${at}: ${JSON.stringify(res.body)}`).toBe(allowed ? 202 : 403);
          if (allowed) for (const t of targets) peersFor.get(t)?.add(res.body.id as string);
          break;
        }
      }
    }

    // Let everything in flight arrive: one last event per room reaches every member, and every
    // peer signal reaches its (connected) target.
    for (const [r, room] of roomIds.entries()) {
      const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
        token: observer,
        body: { type: 'sentinel', data: {} },
      });
      expect(res.status).toBe(201);
      const seq = res.body.seq as number;
      for (const [u, id] of ids.entries()) {
        if (!joined.has(key(id, room))) continue;
        await waitUntil(
          () =>
            client(u)
              .events(room)
              .some((e) => e.seq >= seq),
          () => `user ${u} to get the last event of room ${r}`,
        );
      }
    }
    for (const [u, id] of ids.entries()) {
      const expected = peersFor.get(id) as Set<string>;
      const notices = (noticesFor.get(id) as string[]).length;
      const got = () => client(u).frames.filter((f) => f.op === 'peer');
      await waitUntil(
        () =>
          got().filter((f) => f.type !== 'moderation').length >= expected.size &&
          got().filter((f) => f.type === 'moderation').length >= notices,
        () => `user ${u}'s peer signals: ${expected.size} + ${notices} notices, got ${got().length}`,
      );
      const c = client(u);
      const from = c.frames.length;
      c.send({ op: 'ping' });
      await frameAfter(c, from, (f) => f.op === 'pong', 'pong');
    }

    // What each client got over WebSocket.
    for (const [u, id] of ids.entries()) {
      const frames = client(u).frames;
      for (const [i, f] of frames.entries()) {
        if (f.op === 'ts' || f.op === 'ss' || f.op === 'joined') {
          const r = roomIds.indexOf(f.room);
          expect(canSee(u, r), `user ${u} got ${f.op} of private room ${r} it may not see`).toBe(true);
          const ban = key(id, f.room);
          const after = banFrame.get(ban);
          if (after !== undefined)
            expect(i < after, `user ${u} got ${f.op} of room ${r} after it was banned`).toBe(true);
          const top = banTop.get(ban);
          if (top !== undefined && f.op === 'ts') {
            const later = f.events.filter((e) => e.seq > top).map((e) => e.seq);
            expect(later, `user ${u} got events of room ${r} published after its ban`).toEqual([]);
          }
        }
        if (f.op === 'peer') {
          if (f.type === 'moderation') {
            const action = (f.data as { action?: string }).action;
            expect(
              (noticesFor.get(id) as string[]).includes(`${f.room}|${action}`),
              `user ${u} got a moderation notice (${action}) not about itself`,
            ).toBe(true);
          } else {
            expect(peersFor.get(id)?.has(f.id), `user ${u} got peer ${f.id} addressed to someone else`).toBe(
              true,
            );
          }
        }
      }
      const peerIds = frames.flatMap((f) => (f.op === 'peer' && f.type !== 'moderation' ? [f.id] : []));
      expect(new Set(peerIds), `user ${u}'s live peer signals`).toEqual(peersFor.get(id));
    }

    // What each inbox holds: exactly the user's own peer signals and moderation notices.
    for (const [u, id] of ids.entries()) {
      const res = await http(srv.httpUrl, 'GET', '/v1/inbox?limit=500', { token: token(u) });
      expect(res.status).toBe(200);
      checkInboxSafety(id, res.body.messages, `user ${u}'s inbox`);
      const messages = res.body.messages as Array<{ id: string; type: string }>;
      expect(
        new Set(messages.filter((m) => m.type !== 'moderation').map((m) => m.id)),
        `user ${u}'s inbox`,
      ).toEqual(peersFor.get(id));
      expect(messages.filter((m) => m.type === 'moderation').length, `user ${u}'s moderation notices`).toBe(
        (noticesFor.get(id) as string[]).length,
      );
    }
  } finally {
    for (const c of clients) c.terminate();
  }

  function checkInboxSafety(
    id: string,
    messages: Array<{ id: string; room: string; type: string; data: unknown }>,
    at: string,
  ) {
    for (const m of messages) {
      if (m.type === 'moderation') {
        const action = (m.data as { action?: string }).action;
        expect(
          (noticesFor.get(id) as string[]).includes(`${m.room}|${action}`),
          `${at}: moderation notice ${action} not about ${id}`,
        ).toBe(true);
      } else {
        expect(peersFor.get(id)?.has(m.id), `${at}: inbox message ${m.id} addressed to someone else`).toBe(
          true,
        );
      }
    }
  }
}

describe('authorization over random worlds', () => {
  it(
    'never shows a private room to whom may not see it, nothing of a room to whom it banned, nor anyone else’s peer signals',
    { timeout: 300_000 },
    async () => {
      console.log(`authorization-property seed ${SEED} (ROOMCAST_FUZZ_SEED=${SEED} reproduces this run)`);
      await fc.assert(
        fc.asyncProperty(fc.limitShrink(world, 400), (w) => runWorld(w)),
        { seed: SEED, numRuns: WORLDS },
      );
    },
  );
});
