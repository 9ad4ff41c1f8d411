import { Agent, request } from 'node:http';
import { ErrorCodes } from '@roomcast/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, until } from './helpers/control-client.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

/**
 * Property: whatever a client sends over HTTP — random, deep or wide JSON, wrong types, bytes that
 * are not JSON, wrong content types, huge or odd path parameters and query strings — the answer is
 * a 2xx/304, or a 4xx with the contract body `{"error":{"code","message"}}` and a code of the
 * catalogue; never a 5xx, never another shape. A value beyond the structural limits is never
 * accepted. Meanwhile a JSON and a MessagePack control client of the room get every event once,
 * in seq order. Reproduce a failure with ROOMCAST_FUZZ_SEED=<seed>.
 */

const SEED = Number(process.env.ROOMCAST_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.ROOMCAST_FUZZ_RUNS ?? 60);
/** Requests per property run: 0–MAX_REQUESTS, over 5,000 over RUNS runs. */
const MAX_REQUESTS = 250;
const MAX_SHRINKS = 200;
const IN_FLIGHT = 16;
const DEADLINE_MS = 15_000;
/** The default structural limits (`limits.jsonMaxDepth`, `jsonMaxKeys`, `jsonMaxItems`): generated values stay far from them on either side. */
const DEPTH_LIMIT = 32;
const KEYS_LIMIT = 256;
const ITEMS_LIMIT = 1024;
/** Statuses the HTTP framework itself raises: they must have the contract body, with any code of the catalogue. */
const FRAMEWORK_STATUSES = new Set([414, 415, 431]);

let srv: TestServer;
let agent: Agent;
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
    gateway: { sendQueueSoftBytes: 512 * 1024 * 1024, sendQueueHardBytes: 1024 * 1024 * 1024 },
    limits: { userEventsPerSecond: 100_000, roomEventsPerSecond: 100_000, userHighPerSecond: 100_000 },
  });
  agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
});

afterAll(async () => {
  agent?.destroy();
  await srv?.close();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

// ---------------------------------------------------------------------------------------------
// Request specifications.

type Shape = 'array' | 'object' | 'mixed';
type RoomSel = { k: 'main' } | { k: 'side' } | { k: 'raw'; segment: string };
type TokenSel = 'host' | 'admin' | 'service' | 'user' | 'none' | 'garbage' | 'expired';
type Body =
  | { k: 'json'; value: unknown }
  /** `value` with the string DEEP replaced by a value nested `depth` levels. */
  | { k: 'deep'; value: unknown; shape: Shape; depth: number }
  /** `value` with the string DEEP replaced by an object of `n` keys or an array of `n` items. */
  | { k: 'wide'; value: unknown; shape: 'keys' | 'items'; n: number }
  | { k: 'bytes'; bytes: Uint8Array }
  | { k: 'text'; text: string }
  | { k: 'none' }
  | { k: 'huge'; size: number };

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  /** Path with `{room}` and `{name}` placeholders. */
  path: string;
  room: RoomSel;
  name: string;
  query: string;
  token: TokenSel;
  contentType: string | undefined;
  body: Body;
}

const DEEP = '__DEEP__';

const userId = fc.stringMatching(/^(us|eu|ap|zz)_[A-Za-z0-9-]{1,20}$/);
const anyJson = fc.jsonValue({ maxDepth: 4 });

const segment: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.stringMatching(/^(us|eu|ap|zz)_[A-Za-z0-9-]{1,70}$/),
  fc.constantFrom(
    '%zz',
    '%',
    '..',
    '.',
    '%00',
    '%2F',
    '%2e%2e',
    'a%20b',
    '%C3%28',
    '%ff%fe',
    ';',
    ':',
    '@',
    '*',
  ),
  fc.integer({ min: 150, max: 20_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 20, max: 4_000 }).map((n) => '%F0%9F%98%80'.repeat(n)),
);

const roomSel: fc.Arbitrary<RoomSel> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<RoomSel>({ k: 'main' }) },
  { weight: 1, arbitrary: fc.constant<RoomSel>({ k: 'side' }) },
  { weight: 3, arbitrary: segment.map((s): RoomSel => ({ k: 'raw', segment: s })) },
);

const numberish: fc.Arbitrary<string> = fc.oneof(
  fc.nat().map(String),
  fc.integer({ min: -1000, max: -1 }).map(String),
  fc.constantFrom('', '0', '9'.repeat(16), '9'.repeat(40), '1e3', '0x10', '1.5', 'NaN', '-0', '%201', '01'),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);

const haveValue: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.tuple(fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/), fc.nat(50)), { maxLength: 5 })
    .map((entries) => entries.map(([n, v]) => `${n}:${v}`).join(',')),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom(':', ',', 'a:', ':1', 'a:-1', 'a:1,,b:2', 'a:b:c'),
  fc.integer({ min: 1_000, max: 3_000 }).map((n) => Array.from({ length: n }, (_, i) => `p${i}:1`).join(',')),
);

const query: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      numberish.map((v) => `cursor=${v}`),
      numberish.map((v) => `limit=${v}`),
      fc
        .oneof(fc.string({ maxLength: 80 }).map(encodeURIComponent), fc.constant('x'.repeat(65)))
        .map((v) => `epoch=${v}`),
      haveValue.map((v) => `have=${v}`),
      fc.constantFrom('cursor', 'limit=', '=1', '&', 'cursor[]=1', 'cursor[a]=1', '%zz=1', 'epoch=%zz'),
    ),
    { maxLength: 5 },
  )
  .map((parts) => (parts.length === 0 ? '' : `?${parts.join('&')}`));

const deepOrWide = <T>(template: T): fc.Arbitrary<Body> =>
  fc.oneof(
    fc.record({
      k: fc.constant('deep' as const),
      value: fc.constant(template),
      shape: fc.constantFrom<Shape>('array', 'object', 'mixed'),
      depth: fc.oneof(fc.integer({ min: DEPTH_LIMIT + 8, max: 200 }), fc.integer({ min: 1000, max: 3000 })),
    }),
    fc.oneof(
      fc.record({
        k: fc.constant('wide' as const),
        value: fc.constant(template),
        shape: fc.constant('keys' as const),
        n: fc.integer({ min: KEYS_LIMIT + 44, max: 1500 }),
      }),
      fc.record({
        k: fc.constant('wide' as const),
        value: fc.constant(template),
        shape: fc.constant('items' as const),
        n: fc.integer({ min: ITEMS_LIMIT + 76, max: 4000 }),
      }),
    ),
  );

const json = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  value.map((v): Body => ({ k: 'json', value: v }));

/** Bodies for an endpoint: well-formed with random fields, deep or wide, random JSON, not JSON at all. */
function bodies(wellFormed: fc.Arbitrary<unknown>, deepTemplate: unknown): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 6, arbitrary: json(wellFormed) },
    { weight: 2, arbitrary: deepOrWide(deepTemplate) },
    { weight: 2, arbitrary: json(anyJson) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes): Body => ({ k: 'bytes', bytes })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom('{', '{"type":', '[1,2', 'null', '""', '{"a":1}x', '\ufeff{}'),
        )
        .map((text): Body => ({ k: 'text', text })),
    },
    { weight: 1, arbitrary: fc.constant<Body>({ k: 'none' }) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 65_000, max: 300_000 }).map((size): Body => ({ k: 'huge', size })),
    },
  );
}

const eventBody = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('comment', 'like'),
      fc.stringMatching(/^[a-z][a-z0-9_.-]{0,31}$/),
      anyJson,
    ),
    data: fc.oneof(
      fc.record({
        text: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 600 })),
      }),
      fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 6 }),
      anyJson,
    ),
  },
  { requiredKeys: [] },
);

const endpoints: Array<{
  weight: number;
  arbitrary: fc.Arbitrary<Omit<RequestSpec, 'room' | 'name' | 'token' | 'query'>>;
}> = [
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant('/v1/rooms'),
      contentType: fc.constant('application/json'),
      body: bodies(
        fc.record(
          {
            title: fc.oneof(fc.string({ maxLength: 250 }), anyJson),
            visibility: fc.oneof(fc.constantFrom('public', 'private'), anyJson),
          },
          { requiredKeys: [] },
        ),
        { title: DEEP },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant('/v1/rooms/{room}/events'),
      contentType: fc.constant('application/json'),
      body: bodies(eventBody, { type: 'like', data: { d: DEEP } }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant('GET' as const),
      path: fc.constantFrom(
        '/v1/rooms/{room}/events',
        '/v1/rooms/{room}/state',
        '/v1/rooms/{room}/state/version',
      ),
      contentType: fc.constant(undefined),
      body: fc.constant<Body>({ k: 'none' }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('PUT' as const),
      path: fc.constant('/v1/rooms/{room}/state/{name}'),
      contentType: fc.constant('application/json'),
      body: bodies(fc.record({ value: anyJson }, { requiredKeys: [] }), { value: DEEP }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant('/v1/rooms/{room}/peer'),
      contentType: fc.constant('application/json'),
      body: bodies(
        fc.record(
          {
            to: fc.oneof(fc.array(userId, { maxLength: 5 }), fc.array(anyJson, { maxLength: 3 }), anyJson),
            type: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,31}$/), anyJson),
            data: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 }), anyJson),
          },
          { requiredKeys: [] },
        ),
        { to: ['eu_x'], type: 'note', data: { d: DEEP } },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant('/v1/rooms/{room}/moderation'),
      contentType: fc.constant('application/json'),
      body: bodies(
        fc.record(
          {
            action: fc.oneof(fc.constantFrom('mute', 'unmute', 'kick', 'ban'), anyJson),
            user: fc.oneof(userId, anyJson),
            seconds: fc.oneof(fc.integer({ min: -10, max: 2_000_000 }), anyJson),
          },
          { requiredKeys: [] },
        ),
        { action: 'mute', user: DEEP },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('GET' as const),
      path: fc.constant('/v1/inbox'),
      contentType: fc.constant(undefined),
      body: fc.constant<Body>({ k: 'none' }),
    }),
  },
];

const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/json; charset=utf-8',
  'application/jsonx',
  'APPLICATION/JSON',
  ';;;',
  'a'.repeat(2000),
);

const requestSpec: fc.Arbitrary<RequestSpec> = fc
  .record({
    endpoint: fc.oneof(...endpoints),
    room: roomSel,
    name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), segment),
    query,
    token: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<TokenSel>('host', 'admin', 'service', 'user') },
      { weight: 1, arbitrary: fc.constantFrom<TokenSel>('none', 'garbage', 'expired') },
    ),
    otherContentType: fc.option(contentType, { freq: 5 }),
  })
  .map(({ endpoint, room, name, query, token, otherContentType }) => ({
    ...endpoint,
    room,
    name,
    query,
    token,
    contentType: otherContentType === null ? endpoint.contentType : otherContentType,
  }));

const batch = fc.limitShrink(fc.array(requestSpec, { maxLength: MAX_REQUESTS, size: 'max' }), MAX_SHRINKS);

// ---------------------------------------------------------------------------------------------
// Encoding and sending.

function deepJson(shape: Shape, depth: number): string {
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

function wideJson(shape: 'keys' | 'items', n: number): string {
  if (shape === 'items') return `[${Array.from({ length: n }, () => '0').join(',')}]`;
  return `{${Array.from({ length: n }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`;
}

function bodyBytes(body: Body): Buffer | undefined {
  switch (body.k) {
    case 'json':
      return Buffer.from(JSON.stringify(body.value) ?? 'null');
    case 'deep':
      return Buffer.from(JSON.stringify(body.value).replace(`"${DEEP}"`, deepJson(body.shape, body.depth)));
    case 'wide':
      return Buffer.from(JSON.stringify(body.value).replace(`"${DEEP}"`, wideJson(body.shape, body.n)));
    case 'bytes':
      return Buffer.from(body.bytes);
    case 'text':
      return Buffer.from(body.text);
    case 'none':
      return undefined;
    case 'huge':
      return Buffer.from(JSON.stringify({ type: 'comment', data: { text: 'x'.repeat(body.size) } }));
  }
}

/** Whether the body holds a value beyond a structural limit, which must never be accepted. */
const beyondLimits = (body: Body) => body.k === 'deep' || body.k === 'wide';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(srv.httpUrl);
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What is wrong with an answer, or undefined when it keeps the contract. */
function violation(spec: RequestSpec, answer: Answer): string | undefined {
  const { status } = answer;
  if ((status >= 200 && status < 300) || status === 304) {
    if (beyondLimits(spec.body)) return `accepted a value beyond the structural limits (${status})`;
    return undefined;
  }
  if (status < 400 || status >= 500) return `status ${status}: ${answer.text.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `${status} without a JSON body: ${JSON.stringify(answer.text.slice(0, 200))}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (
    typeof error?.code !== 'string' ||
    typeof error.message !== 'string' ||
    Object.keys(body as object).length !== 1
  )
    return `${status} without the contract body: ${answer.text.slice(0, 200)}`;
  if (!Object.hasOwn(ErrorCodes, error.code))
    return `${status} with a code outside the catalogue: ${error.code}`;
  const expected = ErrorCodes[error.code as keyof typeof ErrorCodes];
  if (expected !== status && !FRAMEWORK_STATUSES.has(status))
    return `${status} with code ${error.code}, whose status is ${expected}`;
  if (status === 429 && answer.headers['retry-after'] === undefined) return '429 without Retry-After';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Control clients.

async function createRoom(token: string, visibility: 'public' | 'private'): Promise<string> {
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title: 'fuzz', visibility } });
  if (res.status !== 201) throw new Error(`room not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room.id as string;
}

describe('HTTP fuzzing', () => {
  it(
    'answers 5,000 random requests with 2xx/304 or a contract error while control clients get every event once, in order',
    { timeout: 600_000 },
    async () => {
      console.log(`fuzz-http seed ${SEED} (ROOMCAST_FUZZ_SEED=${SEED} reproduces this run)`);
      let requestsSent = 0;
      const publisher = await srv.token(uid('ap', 'pub'));
      const admin = await srv.token(uid('us', 'adm'), { roles: ['admin'] });
      const service = await srv.token(uid('eu', 'svc'), { roles: ['service'] });
      const expired = await srv.token(uid('eu', 'old'), { expiresInSeconds: -30 });
      await fc.assert(
        fc.asyncProperty(batch, async (specs) => {
          const errorsBefore = uncaught.length;
          const host = await srv.token(uid('us', 'host'));
          const rooms = {
            main: await createRoom(host, 'public'),
            side: await createRoom(await srv.token(uid('eu', 'host')), 'private'),
          };
          const tokens: Record<TokenSel, string | undefined> = {
            host,
            admin,
            service,
            user: await srv.token(uid('ap', 'usr')),
            none: undefined,
            garbage: 'not.a.token',
            expired,
          };
          const controls = [
            await ControlClient.join(srv, uid('eu', 'ctl'), false, rooms.main),
            await ControlClient.join(srv, uid('eu', 'ctl'), true, rooms.main),
          ];
          const control: number[] = [];
          const problems: string[] = [];
          try {
            let fuzzing = true;
            const controlLoop = (async () => {
              while (fuzzing || control.length < 2) {
                const n = control.length;
                const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${rooms.main}/events`, {
                  token: publisher,
                  body: { type: 'comment', data: { text: `control-${n}` } },
                });
                if (res.status !== 201)
                  throw new Error(`control publish ${n} refused: ${res.status} ${JSON.stringify(res.body)}`);
                control.push(res.body.seq as number);
              }
            })();
            let next = 0;
            await Promise.all(
              Array.from({ length: IN_FLIGHT }, async () => {
                while (next < specs.length) {
                  const spec = specs[next++] as RequestSpec;
                  const room = spec.room.k === 'raw' ? spec.room.segment : rooms[spec.room.k];
                  const path = spec.path.replace('{room}', room).replace('{name}', spec.name) + spec.query;
                  const headers: Record<string, string> = {};
                  const token = tokens[spec.token];
                  if (token !== undefined) headers.authorization = `Bearer ${token}`;
                  if (spec.contentType !== undefined) headers['content-type'] = spec.contentType;
                  const label = `${spec.method} ${path.slice(0, 160)} (${spec.body.k} body, ${spec.contentType ?? 'no content type'})`;
                  try {
                    const answer = await send(spec.method, path, headers, bodyBytes(spec.body));
                    const wrong = violation(spec, answer);
                    if (wrong !== undefined) problems.push(`${label}: ${wrong}`);
                  } catch (err) {
                    problems.push(`${label}: no answer (${String(err)})`);
                  }
                }
              }),
            );
            fuzzing = false;
            await controlLoop;
            const last = control[control.length - 1] as number;
            await until(
              () =>
                controls.every((c) => c.has(last) || c.closeCode !== undefined) ||
                uncaught.length > errorsBefore,
              DEADLINE_MS,
              () => `control event ${last}; got ${controls.map((c) => c.events.at(-1)?.seq).join(' and ')}`,
            );

            // The server itself never failed.
            expect(uncaught.slice(errorsBefore).map(String)).toEqual([]);
            // Every answer kept the contract.
            expect(problems).toEqual([]);
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
            // Still healthy: health check, and a fresh client can join and get a new event.
            expect((await http(srv.httpUrl, 'GET', '/healthz')).status).toBe(200);
            const fresh = await ControlClient.join(srv, uid('eu', 'ctl'), true, rooms.main);
            const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${rooms.main}/events`, {
              token: publisher,
              body: { type: 'comment', data: { text: 'still here' } },
            });
            expect(res.status).toBe(201);
            await until(
              () => fresh.has(res.body.seq as number),
              DEADLINE_MS,
              () => 'the fresh client to get a new event',
            );
            fresh.ws.close();
            requestsSent += specs.length;
          } finally {
            for (const c of controls) c.ws.terminate();
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
      console.log(`fuzz-http: ${requestsSent} requests over ${RUNS} runs`);
      expect(requestsSent).toBeGreaterThanOrEqual(5_000);
    },
  );
});
