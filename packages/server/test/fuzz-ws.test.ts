import { ErrorCodes, msgpackCodec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@roomcast/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ControlClient, until } from './helpers/control-client.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

/**
 * Property: whatever a client sends over the WebSocket — valid ops with random fields, deep and
 * wide values, wrong types, unknown ops, the other codec's frames, truncated or random bytes,
 * invalid UTF-8, oversize frames — costs only that client. Well-behaved clients of the same room
 * (a JSON and a MessagePack control client) keep receiving every event exactly once, in seq order,
 * and the server stays healthy. Reproduce a failure with ROOMCAST_FUZZ_SEED=<seed>.
 */

const SEED = Number(process.env.ROOMCAST_FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.ROOMCAST_FUZZ_RUNS ?? 60);
/** Frames per property run: 0–MAX_FRAMES (so a failure shrinks to the frames that cause it), about 25,000 over RUNS runs. */
const MAX_FRAMES = 1000;
/** Shrinking re-runs whole batches against the server: bounded so a failure is reported in minutes. */
const MAX_SHRINKS = 300;
const CHUNK = 40;
const MAX_FRAME_BYTES = 8192;
/** The default structural limits (`limits.jsonMaxDepth`, `jsonMaxKeys`, `jsonMaxItems`): generated values stay far from them on either side. */
const DEPTH_LIMIT = 32;
const KEYS_LIMIT = 256;
const ITEMS_LIMIT = 1024;
/** Close codes the contract names for a connection that misbehaved. */
const DOCUMENTED_CLOSES = new Set([4400, 4008, 4009, 1009, 1007, 4001]);
const SERVER_OPS = new Set([
  'joined',
  'left',
  'ack',
  'pong',
  'ts',
  'ss',
  'peer',
  'reset',
  'error',
  'reconnect',
  'authed',
]);
const JSON_FUZZERS = 4;
const MSGPACK_FUZZERS = 4;
const ANSWER_DEADLINE_MS = 15_000;

let srv: TestServer;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
let unique = 0;
const uid = (region: string, tag: string) =>
  `${region}_${tag}${(unique++).toString(36)}-${Date.now().toString(36)}`;

beforeAll(async () => {
  // In-process, an exception thrown by the server would not end the process as it does in
  // `roomcast dev`: record it, and every run asserts that none happened.
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  srv = await startTestServer({
    gateway: {
      opsPerSecond: 100_000,
      opsBurst: 100_000,
      malformedLimit: 1_000_000,
      // Slow-consumer shedding is not under test: every client here reads in this process.
      sendQueueSoftBytes: 512 * 1024 * 1024,
      sendQueueHardBytes: 1024 * 1024 * 1024,
    },
    limits: { userEventsPerSecond: 100_000, roomEventsPerSecond: 100_000, userHighPerSecond: 100_000 },
  });
});

afterAll(async () => {
  await srv?.close();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

// ---------------------------------------------------------------------------------------------
// Frame specifications: codec-independent descriptions, encoded per connection.

type RoomSel = { k: 'main' } | { k: 'side' } | { k: 'raw'; id: string };
type DataSpec =
  | { k: 'plain'; value: Record<string, unknown> }
  | { k: 'deep'; shape: 'array' | 'object' | 'mixed'; depth: number }
  | { k: 'wide'; shape: 'keys' | 'items'; n: number };
type TokenSel = 'same' | 'other' | 'expired' | 'roles' | 'garbage';

type FrameSpec =
  | { k: 'join'; room: RoomSel; cursor: number | undefined; epoch: string | undefined }
  | { k: 'leave'; room: RoomSel }
  | { k: 'publish'; room: RoomSel; type: string; data: DataSpec | undefined; ref: boolean; id: boolean }
  | { k: 'retry' }
  | { k: 'ping' }
  | { k: 'auth'; token: TokenSel; garbage: string; ref: boolean }
  | { k: 'wrongTypes'; value: Record<string, unknown> }
  | { k: 'unknownOp'; value: unknown }
  | { k: 'deepElsewhere'; field: 'frame' | 'epoch' | 'token' | 'room'; depth: number }
  | { k: 'otherCodec'; value: Record<string, unknown> }
  | { k: 'truncated'; value: Record<string, unknown>; keep: number }
  | { k: 'randomBytes'; bytes: Uint8Array; asText: boolean }
  | { k: 'invalidUtf8' }
  | { k: 'oversize'; size: number };

const roomSel: fc.Arbitrary<RoomSel> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<RoomSel>({ k: 'main' }) },
  { weight: 1, arbitrary: fc.constant<RoomSel>({ k: 'side' }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 90 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.stringMatching(/^(us|eu|ap|zz)_[A-Za-z0-9-]{1,70}$/),
      )
      .map((id): RoomSel => ({ k: 'raw', id })),
  },
);

const plainData: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ text: fc.string({ minLength: 1, maxLength: 200 }) }),
  fc.record({ text: fc.string({ unit: 'binary', maxLength: 600 }) }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }),
  fc.constant({}),
);

const dataSpec: fc.Arbitrary<DataSpec> = fc.oneof(
  { weight: 8, arbitrary: plainData.map((value): DataSpec => ({ k: 'plain', value })) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('deep' as const),
      shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
      depth: fc.oneof(fc.integer({ min: DEPTH_LIMIT + 8, max: 200 }), fc.integer({ min: 1000, max: 3000 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({
        k: fc.constant('wide' as const),
        shape: fc.constant('keys' as const),
        n: fc.integer({ min: KEYS_LIMIT + 44, max: 1200 }),
      }),
      fc.record({
        k: fc.constant('wide' as const),
        shape: fc.constant('items' as const),
        n: fc.integer({ min: ITEMS_LIMIT + 76, max: 3500 }),
      }),
    ),
  },
);

const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('join' as const),
      room: roomSel,
      cursor: fc.option(fc.nat(), { nil: undefined }),
      epoch: fc.option(fc.string({ maxLength: 64 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('leave' as const), room: roomSel }) },
  {
    weight: 14,
    arbitrary: fc.record({
      k: fc.constant('publish' as const),
      room: roomSel,
      type: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom('comment', 'like') },
        { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,31}$/) },
        { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 32 }) },
      ),
      data: fc.option(dataSpec, { nil: undefined, freq: 10 }),
      ref: fc.boolean(),
      id: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant<FrameSpec>({ k: 'retry' }) },
  { weight: 2, arbitrary: fc.constant<FrameSpec>({ k: 'ping' }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('auth' as const),
      token: fc.constantFrom<TokenSel>('same', 'other', 'expired', 'roles', 'garbage'),
      garbage: fc.string({ minLength: 1, maxLength: 300 }),
      ref: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        op: fc.constantFrom('join', 'leave', 'publish', 'ping', 'auth'),
        room: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string()), fc.string({ maxLength: 120 })),
        cursor: fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.double(), fc.string(), fc.constant(1e300)),
        type: fc.oneof(fc.integer(), fc.constant(''), fc.string({ minLength: 33, maxLength: 60 })),
        data: fc.oneof(fc.array(fc.integer()), fc.string(), fc.integer(), fc.constant(null)),
        ref: fc.oneof(fc.integer(), fc.string({ minLength: 65, maxLength: 100 }), fc.object()),
        token: fc.oneof(fc.integer(), fc.constant(''), fc.constant(null)),
      })
      .chain((full) =>
        fc
          .subarray(['room', 'cursor', 'type', 'data', 'ref', 'token'] as const, { minLength: 1 })
          .map((keys): FrameSpec => {
            const value: Record<string, unknown> = { op: full.op };
            for (const key of keys) value[key] = full[key];
            return { k: 'wrongTypes', value };
          }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.record({ op: fc.string({ maxLength: 20 }) }),
        fc.record({ op: fc.oneof(fc.integer(), fc.constant(null), fc.boolean()) }),
        fc.jsonValue({ maxDepth: 3 }),
        fc.object({ maxDepth: 2 }),
      )
      .map((value): FrameSpec => ({ k: 'unknownOp', value })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('deepElsewhere' as const),
      field: fc.constantFrom('frame' as const, 'epoch' as const, 'token' as const, 'room' as const),
      depth: fc.integer({ min: 40, max: 3000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ op: fc.constantFrom('ping', 'join', 'publish'), room: fc.constant('x') })
      .map((value): FrameSpec => ({ k: 'otherCodec', value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        value: fc.record({ op: fc.constantFrom('publish', 'join'), room: fc.string(), data: plainData }),
        keep: fc.double({ min: 0, max: 0.99, noNaN: true }),
      })
      .map(({ value, keep }): FrameSpec => ({ k: 'truncated', value, keep })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('randomBytes' as const),
      bytes: fc.uint8Array({ maxLength: 300 }),
      asText: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant<FrameSpec>({ k: 'invalidUtf8' }) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        { weight: 9, arbitrary: fc.integer({ min: MAX_FRAME_BYTES + 1, max: 3 * MAX_FRAME_BYTES }) },
        { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 200_000 }) },
      )
      .map((size): FrameSpec => ({ k: 'oversize', size })),
  },
);

const batch = fc.limitShrink(
  fc.array(fc.tuple(fc.nat(JSON_FUZZERS + MSGPACK_FUZZERS - 1), frameSpec), {
    maxLength: MAX_FRAMES,
    size: 'max',
  }),
  MAX_SHRINKS,
);

// ---------------------------------------------------------------------------------------------
// Encoding: deep values are written as text or bytes directly, so no encoder on this side recurses.

const DEEP = '__DEEP__';

function deepJson(shape: 'array' | 'object' | 'mixed', depth: number): string {
  if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  if (shape === 'object') return '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '[' : '{"a":';
    close = (i % 2 === 0 ? ']' : '}') + close;
  }
  return open + '0' + close;
}

function deepMsgpack(shape: 'array' | 'object' | 'mixed', depth: number): Uint8Array {
  const parts: number[] = [];
  for (let i = 0; i < depth; i++) {
    const array = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
    if (array) parts.push(shape === 'array' && i === depth - 1 ? 0x90 : 0x91);
    else parts.push(0x81, 0xa1, 0x61);
  }
  if (shape !== 'array') parts.push(0x00);
  return Uint8Array.from(parts);
}

function wideValue(shape: 'keys' | 'items', n: number): unknown {
  if (shape === 'items') return Array.from({ length: n }, () => 0);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) out[i.toString(36)] = 0;
  return out;
}

/** Encodes `value`, with the string DEEP (if present) replaced by a deep value of `shape`. */
function encode(
  value: unknown,
  binary: boolean,
  deep?: { shape: 'array' | 'object' | 'mixed'; depth: number },
): string | Buffer {
  if (!binary) {
    const text = JSON.stringify(value);
    return deep === undefined ? text : text.replace(`"${DEEP}"`, deepJson(deep.shape, deep.depth));
  }
  const bytes = Buffer.from(msgpackCodec.encode(value));
  if (deep === undefined) return bytes;
  const marker = Buffer.from(msgpackCodec.encode(DEEP));
  const at = bytes.indexOf(marker);
  return Buffer.concat([
    bytes.subarray(0, at),
    deepMsgpack(deep.shape, deep.depth),
    bytes.subarray(at + marker.length),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Clients.

interface Rooms {
  main: string;
  side: string;
}

interface Expectation {
  /** `answer`: exactly one ack/authed/error with this ref; `noAck`: never an ack (over a structural limit). */
  expect: 'answer' | 'noAck';
  /** The idempotency `id` of a publish, when it had one. */
  id?: string;
  answered: boolean;
}

/** One fuzzing connection: sends what it is told, and checks every frame the server sends back. */
class FuzzConnection {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  closeCode: number | undefined;
  pongs = 0;
  pingsSent = 0;
  readonly violations: string[] = [];
  readonly refs = new Map<string, Expectation>();
  /** Seq each idempotency `id` was first acked with. */
  readonly idSeqs = new Map<string, number>();
  lastPublish:
    | { value: Record<string, unknown>; deep?: Extract<DataSpec, { k: 'deep' }>; id: string }
    | undefined;
  private nextRef = 0;

  constructor(
    readonly name: string,
    readonly binary: boolean,
    readonly tokens: Record<Exclude<TokenSel, 'garbage'>, string>,
  ) {
    this.ws = new WebSocket(
      `${srv.wsUrl}?token=${encodeURIComponent(tokens.same)}`,
      binary ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON,
    );
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    this.ws.on('close', (code) => {
      this.closeCode = code;
      if (!DOCUMENTED_CLOSES.has(code)) this.violations.push(`closed with undocumented code ${code}`);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  ref(): string {
    return `${this.name}.${this.nextRef++}`;
  }

  sendRaw(data: string | Buffer | Uint8Array, binary: boolean): void {
    if (this.open) this.ws.send(data, { binary });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (isBinary !== this.binary) {
      this.violations.push(`a ${isBinary ? 'binary' : 'text'} frame on ${this.binary ? 'msgpack' : 'json'}`);
      return;
    }
    let frame: Record<string, unknown>;
    try {
      frame = (
        this.binary ? msgpackCodec.decode(new Uint8Array(data)) : JSON.parse(data.toString('utf8'))
      ) as Record<string, unknown>;
    } catch (err) {
      this.violations.push(`undecodable frame from the server: ${String(err)}`);
      return;
    }
    if (typeof frame !== 'object' || frame === null || !SERVER_OPS.has(frame.op as string)) {
      this.violations.push(`not a server frame: ${JSON.stringify(frame).slice(0, 200)}`);
      return;
    }
    if (frame.op === 'pong') this.pongs++;
    if (frame.op === 'error') {
      if (typeof frame.code !== 'string' || !Object.hasOwn(ErrorCodes, frame.code))
        this.violations.push(`error code outside the catalogue: ${JSON.stringify(frame)}`);
      if (typeof frame.message !== 'string')
        this.violations.push(`error without message: ${JSON.stringify(frame)}`);
    }
    if (frame.op === 'ts') {
      const seqs = (frame.events as Array<{ seq: number }>).map((e) => e.seq);
      if (seqs.some((s, i) => i > 0 && s <= (seqs[i - 1] as number)))
        this.violations.push(`ts frame out of seq order: ${seqs.join(',')}`);
    }
    if ((frame.op === 'ack' || frame.op === 'error' || frame.op === 'authed') && frame.ref !== undefined) {
      const ref = frame.ref as string;
      const expectation = this.refs.get(ref);
      if (expectation === undefined) {
        // Refs the server echoes from invalid frames (e.g. a ref of the wrong length) are fine; a
        // ref this connection never sent is not.
        if (typeof ref !== 'string' || !ref.startsWith(`${this.name}.`)) return;
        this.violations.push(`answer with a ref never sent: ${JSON.stringify(frame).slice(0, 200)}`);
        return;
      }
      if (expectation.answered) this.violations.push(`ref ${ref} answered twice: ${JSON.stringify(frame)}`);
      expectation.answered = true;
      if (frame.op === 'ack' && expectation.expect === 'noAck')
        this.violations.push(
          `a publish beyond the structural limits was accepted (ref ${ref}, seq ${frame.seq})`,
        );
      if (frame.op === 'ack' && expectation.id !== undefined) {
        const first = this.idSeqs.get(expectation.id);
        if (first === undefined) this.idSeqs.set(expectation.id, frame.seq as number);
        else if (first !== frame.seq)
          this.violations.push(
            `publish id ${expectation.id} was stored twice: seqs ${first} and ${String(frame.seq)}`,
          );
      }
    }
  }

  /** Encodes and sends one frame spec. */
  send(spec: FrameSpec, rooms: Rooms): void {
    const b = this.binary;
    const room = (sel: RoomSel) => (sel.k === 'raw' ? sel.id : rooms[sel.k]);
    switch (spec.k) {
      case 'join': {
        const f: Record<string, unknown> = { op: 'join', room: room(spec.room) };
        if (spec.cursor !== undefined) f.cursor = spec.cursor;
        if (spec.epoch !== undefined) f.epoch = spec.epoch;
        this.sendRaw(encode(f, b), b);
        return;
      }
      case 'leave':
        this.sendRaw(encode({ op: 'leave', room: room(spec.room) }, b), b);
        return;
      case 'publish': {
        const f: Record<string, unknown> = { op: 'publish', room: room(spec.room), type: spec.type };
        const data = spec.data;
        let deep: Extract<DataSpec, { k: 'deep' }> | undefined;
        if (data?.k === 'plain') f.data = data.value;
        if (data?.k === 'wide') f.data = { w: wideValue(data.shape, data.n) };
        if (data?.k === 'deep') {
          f.data = { d: DEEP };
          deep = data;
        }
        const id = spec.id ? `id-${this.ref()}` : undefined;
        if (id !== undefined) f.id = id;
        this.publishFrame(f, deep, spec.ref, id);
        return;
      }
      case 'retry': {
        const last = this.lastPublish;
        if (last === undefined) return;
        this.publishFrame(last.value, last.deep, true, last.id);
        return;
      }
      case 'ping':
        this.pingsSent++;
        this.sendRaw(encode({ op: 'ping' }, b), b);
        return;
      case 'auth': {
        const f: Record<string, unknown> = {
          op: 'auth',
          token: spec.token === 'garbage' ? spec.garbage : this.tokens[spec.token],
        };
        if (spec.ref) {
          f.ref = this.ref();
          this.refs.set(f.ref as string, { expect: 'answer', answered: false });
        }
        this.sendRaw(encode(f, b), b);
        return;
      }
      case 'wrongTypes':
      case 'unknownOp':
        this.sendRaw(encode(spec.value, b), b);
        return;
      case 'deepElsewhere': {
        const shape = 'mixed';
        if (spec.field === 'frame') this.sendRaw(encode(DEEP, b, { shape, depth: spec.depth }), b);
        else {
          const f: Record<string, unknown> = {
            op: spec.field === 'token' ? 'auth' : 'join',
            room: rooms.main,
          };
          f[spec.field] = DEEP;
          this.sendRaw(encode(f, b, { shape, depth: spec.depth }), b);
        }
        return;
      }
      case 'otherCodec':
        // A binary frame on the JSON protocol, a text frame on MessagePack.
        this.sendRaw(encode(spec.value, !b), !b);
        return;
      case 'truncated': {
        const whole = encode(spec.value, b);
        const cut = Math.floor(whole.length * spec.keep);
        this.sendRaw(typeof whole === 'string' ? whole.slice(0, cut) : whole.subarray(0, cut), b);
        return;
      }
      case 'randomBytes':
        // Random bytes as a text frame are usually invalid UTF-8 too (1007).
        this.sendRaw(Buffer.from(spec.bytes), !spec.asText);
        return;
      case 'invalidUtf8':
        this.sendRaw(
          Buffer.from([0x7b, 0x22, 0x6f, 0x70, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]),
          false,
        );
        return;
      case 'oversize':
        this.sendRaw(
          encode(
            { op: 'publish', room: rooms.main, type: 'comment', data: { text: 'x'.repeat(spec.size) } },
            b,
          ),
          b,
        );
        return;
    }
  }

  private publishFrame(
    f: Record<string, unknown>,
    deep: Extract<DataSpec, { k: 'deep' }> | undefined,
    withRef: boolean,
    id: string | undefined,
  ): void {
    const value = { ...f };
    delete value.ref;
    if (id !== undefined) {
      const last: NonNullable<FuzzConnection['lastPublish']> = { value: { ...value }, id };
      if (deep !== undefined) last.deep = deep;
      this.lastPublish = last;
    }
    if (withRef) value.ref = this.ref();
    const bytes = encode(value, this.binary, deep);
    // Only a frame within the frame size is taken as a frame (a larger one closes the connection).
    if (withRef && Buffer.byteLength(bytes) <= MAX_FRAME_BYTES) {
      const data = f.data as { w?: unknown } | undefined;
      const overLimit = deep !== undefined || data?.w !== undefined;
      const expectation: Expectation = { expect: overLimit ? 'noAck' : 'answer', answered: false };
      if (id !== undefined) expectation.id = id;
      this.refs.set(value.ref as string, expectation);
    }
    this.sendRaw(bytes, this.binary);
  }

  /** Whether every frame sent so far was processed and every expected answer arrived (or the socket closed). */
  settled(): boolean {
    if (!this.open) return true;
    if (this.pongs < this.pingsSent) return false;
    for (const e of this.refs.values()) if (e.expect === 'answer' && !e.answered) return false;
    return true;
  }

  unanswered(): string[] {
    return [...this.refs].filter(([, e]) => e.expect === 'answer' && !e.answered).map(([ref]) => ref);
  }
}

async function fuzzers(): Promise<FuzzConnection[]> {
  const conns: FuzzConnection[] = [];
  for (let i = 0; i < JSON_FUZZERS + MSGPACK_FUZZERS; i++) {
    const region = ['us', 'eu', 'ap'][i % 3] as string;
    const user = uid(region, `fz${i}`);
    // Some fuzzers are services: they may publish any event type.
    const roles = i % 4 === 3 ? ['service'] : [];
    const tokens = {
      same: await srv.token(user, { roles }),
      other: await srv.token(uid(region, 'other'), { roles }),
      expired: await srv.token(user, { roles, expiresInSeconds: -30 }),
      roles: await srv.token(user, { roles: roles.length === 0 ? ['service'] : [] }),
    };
    conns.push(new FuzzConnection(`f${i}-${unique++}`, i >= JSON_FUZZERS, tokens));
  }
  await Promise.all(conns.map((c) => c.opened));
  return conns;
}

async function createRoom(visibility: 'public' | 'private'): Promise<string> {
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
    token: await srv.token(uid('us', 'host')),
    body: { title: 'fuzz', visibility },
  });
  if (res.status !== 201) throw new Error(`room not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room.id as string;
}

/** The server answers health checks, and a fresh client can join and publish over either codec. */
async function assertHealthy(room: string): Promise<void> {
  expect((await http(srv.httpUrl, 'GET', '/healthz')).status).toBe(200);
  for (const binary of [false, true]) {
    const fresh = await ControlClient.join(srv, uid('eu', 'ctl'), binary, room);
    const ack = new Promise<number>((resolve) =>
      fresh.ws.on('message', (data: Buffer) => {
        const f = (
          binary ? msgpackCodec.decode(new Uint8Array(data)) : JSON.parse(data.toString('utf8'))
        ) as {
          op: string;
          ref?: string;
          seq: number;
        };
        if (f.op === 'ack' && f.ref === 'health') resolve(f.seq);
      }),
    );
    const frame = { op: 'publish', room, type: 'comment', data: { text: 'still here' }, ref: 'health' };
    fresh.ws.send(binary ? msgpackCodec.encode(frame) : JSON.stringify(frame), { binary });
    const seq = await ack;
    await until(
      () => fresh.has(seq),
      ANSWER_DEADLINE_MS,
      () => `the fresh client's own event ${seq}`,
    );
    fresh.ws.close();
  }
}

describe('WebSocket fuzzing', () => {
  it(
    'survives 20,000 random frames on both codecs while control clients get every event once, in order',
    { timeout: 600_000 },
    async () => {
      console.log(`fuzz-ws seed ${SEED} (ROOMCAST_FUZZ_SEED=${SEED} reproduces this run)`);
      let framesSent = 0;
      let fullRuns = 0;
      const publisher = await srv.token(uid('ap', 'pub'));
      await fc.assert(
        fc.asyncProperty(batch, async (frames) => {
          const errorsBefore = uncaught.length;
          const rooms = { main: await createRoom('public'), side: await createRoom('private') };
          const controls = [
            await ControlClient.join(srv, uid('eu', 'ctl'), false, rooms.main),
            await ControlClient.join(srv, uid('eu', 'ctl'), true, rooms.main),
          ];
          let conns = await fuzzers();
          const closed: FuzzConnection[] = [];
          const control: number[] = [];
          try {
            for (let at = 0; at === 0 || at < frames.length; at += CHUNK) {
              for (const [which, spec] of frames.slice(at, at + CHUNK)) {
                let conn = conns[which] as FuzzConnection;
                if (!conn.open) {
                  // The server closed it (oversize, invalid UTF-8): reconnect and go on.
                  closed.push(conn);
                  const fresh = new FuzzConnection(`${conn.name}r`, conn.binary, conn.tokens);
                  await fresh.opened;
                  conns = conns.map((c) => (c === conn ? fresh : c));
                  conn = fresh;
                }
                conn.send(spec, rooms);
              }
              // The control publisher's next comment, interleaved with the fuzz.
              const n = control.length;
              const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${rooms.main}/events`, {
                token: publisher,
                body: { type: 'comment', data: { text: `control-${n}` } },
              });
              if (res.status !== 201)
                throw new Error(`control publish ${n} refused: ${res.status} ${JSON.stringify(res.body)}`);
              control.push(res.body.seq as number);
            }
            for (const c of conns) {
              c.pingsSent++;
              c.sendRaw(encode({ op: 'ping' }, c.binary), c.binary);
            }
            await until(
              () => conns.every((c) => c.settled()) || uncaught.length > errorsBefore,
              ANSWER_DEADLINE_MS,
              () =>
                `answers: ${conns
                  .filter((c) => !c.settled())
                  .map(
                    (c) =>
                      `${c.name} pongs ${c.pongs}/${c.pingsSent}, unanswered ${c.unanswered().slice(0, 5)}`,
                  )
                  .join('; ')}`,
            );
            const last = control[control.length - 1] as number;
            await until(
              () =>
                controls.every((c) => c.has(last) || c.closeCode !== undefined) ||
                uncaught.length > errorsBefore,
              ANSWER_DEADLINE_MS,
              () => `control event ${last}; got ${controls.map((c) => c.events.at(-1)?.seq).join(' and ')}`,
            );

            // The server itself never failed.
            expect(uncaught.slice(errorsBefore).map(String)).toEqual([]);
            // Every fuzzer got only well-formed answers and was closed only with a documented code.
            for (const c of [...closed, ...conns]) expect(c.violations, c.name).toEqual([]);
            // Each control client got every event of the room once, in seq order, including every control event.
            for (const c of controls) {
              const label = c.binary ? 'msgpack control' : 'json control';
              expect(c.closeCode, label).toBeUndefined();
              expect(c.problems, label).toEqual([]);
              const seqs = c.events.map((e) => e.seq);
              expect(
                seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)),
                `${label}: seqs strictly increasing`,
              ).toBe(true);
              const got = c.events
                .filter((e) => e.type === 'comment' && /^control-\d+$/.test(String(e.data.text)))
                .map((e) => [e.seq, e.data.text]);
              expect(got, label).toEqual(control.map((seq, n) => [seq, `control-${n}`]));
            }
            await assertHealthy(rooms.main);
            framesSent += frames.length;
            fullRuns++;
          } finally {
            for (const c of [...conns, ...closed]) c.ws.terminate();
            for (const c of controls) c.ws.terminate();
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
      console.log(`fuzz-ws: ${framesSent} frames over ${fullRuns} runs`);
      expect(framesSent).toBeGreaterThanOrEqual(20_000);
    },
  );
});
