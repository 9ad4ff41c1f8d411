import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../src/local-cluster/cluster-engines.ts';
import { parseClusterOptions } from '../src/local-cluster/cluster-options.ts';
import { CLUSTER_JSON_PREFIX } from '../src/local-cluster/local-cluster.ts';
import { parseTtl } from '../src/local-cluster/token-command.ts';
import { waitUntil } from './helpers/engine-process.ts';
import { hs256Token } from './helpers/hs256-token.ts';
import { http } from './helpers/http.ts';
import { connectRedis } from './helpers/redis-launcher.ts';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// `roomcast cluster` as a user runs it: a child process that starts its own engines (a private
// PostgreSQL here, never the machine's) and roles, prints its endpoints, supervises them (a killed
// gateway or engine is restarted, a drained gateway replaced) and stops all of it on SIGINT.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = 'local-cluster-test-secret-0123456789';

interface Endpoints {
  apis: string[];
  gateways: string[];
  worker: string;
  pids: number[];
  roles: { name: string; role: string; pid: number; port: number }[];
  engines: { name: string; pid: number; port: number; dir: string }[];
}

/** The environment without the machine's ROOMCAST_* settings, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
  return { ...env, ...extra };
}

let cluster: ChildProcess | undefined;
let output = '';
let exited: Promise<number | null> = Promise.resolve(null);
let endpoints: Endpoints | undefined;
const clients: WsTestClient[] = [];

/** Every machine-readable line so far: the first once ready, one more after each restart. */
function states(): Endpoints[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(CLUSTER_JSON_PREFIX))
    .map((l) => JSON.parse(l.slice(CLUSTER_JSON_PREFIX.length)) as Endpoints);
}

/** The last machine-readable line: the processes running now. */
function current(): Endpoints {
  const all = states();
  return all[all.length - 1] as Endpoints;
}

function roleNamed(state: Endpoints, name: string) {
  const role = state.roles.find((r) => r.name === name);
  if (role === undefined) throw new Error(`no role ${name}`);
  return role;
}

/** Whether a Redis shard's append-only buffer is in its file and no fsync of it is pending. */
async function aofWritten(port: number): Promise<boolean> {
  const redis = connectRedis(port);
  try {
    const info = await redis.info('persistence');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return field('aof_buffer_length') === 0 && field('aof_pending_bio_fsync') === 0;
  } finally {
    redis.disconnect();
  }
}

function engineNamed(state: Endpoints, name: string) {
  const engine = state.engines.find((e) => e.name === name);
  if (engine === undefined) throw new Error(`no engine server ${name}`);
  return engine;
}

const answersReady = (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  );

beforeAll(async () => {
  cluster = spawn(
    process.execPath,
    [
      ...roomcastCliArgs(),
      'cluster',
      '--gateways',
      '2',
      '--apis',
      '1',
      '--postgres',
      'private',
      '--base-port',
      '0',
      '--workers',
      '2',
      '--nginx',
    ],
    { cwd: ROOT, env: cleanEnv({ ROOMCAST_JWT_SECRET: SECRET }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const child = cluster;
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  endpoints = await new Promise<Endpoints>((resolve, reject) => {
    const check = () => {
      const line = output.split('\n').find((l) => l.startsWith(CLUSTER_JSON_PREFIX));
      if (line !== undefined) resolve(JSON.parse(line.slice(CLUSTER_JSON_PREFIX.length)) as Endpoints);
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`roomcast cluster exited (${code}) at start:\n${output}`)));
  });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  // Only when a test failed before its own SIGINT: do not leave the cluster running.
  if (cluster && cluster.exitCode === null && cluster.signalCode === null) {
    cluster.kill('SIGINT');
    await exited;
  }
}, 120_000);

async function mintToken(user: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...roomcastCliArgs(), 'token', '--user', user, '--ttl', '10m'],
    { cwd: ROOT, env: cleanEnv({ ROOMCAST_JWT_SECRET: SECRET }) },
  );
  return stdout.trim();
}

describe('roomcast cluster', () => {
  it('prints every API node and gateway on loopback', () => {
    expect(endpoints?.apis).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)]);
    expect(endpoints?.gateways).toEqual([
      expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/),
      expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/),
    ]);
    expect(output).toContain('JWT secret from ROOMCAST_JWT_SECRET');
    expect(output).not.toContain(SECRET);
  });

  it('gives every role, the settler and OngoingQuery too, a port with /readyz', async () => {
    const roles = (endpoints as Endpoints).roles;
    expect(roles.map((r) => r.role)).toEqual(expect.arrayContaining(['settler', 'ongoing']));
    for (const role of roles) expect([role.name, await answersReady(role.port)]).toEqual([role.name, true]);
  });

  it('delivers a comment published through the API to clients on every gateway, with a token from `roomcast token`', async () => {
    const ep = endpoints as Endpoints;
    const api = ep.apis[0] as string;
    const host = await mintToken('us_host');
    const created = await fetch(`${api}/v1/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'local cluster' }),
    });
    expect(created.status).toBe(201);
    const room = ((await created.json()) as { room: { id: string } }).room.id;
    // Each gateway is its own dispatch group: the room is dispatched to exactly one of them.
    const dispatched = await fetch(`${api}/v1/rooms/${room}/endpoint`, {
      headers: { authorization: `Bearer ${host}` },
    });
    const { ws } = (await dispatched.json()) as { ws: string[] };
    expect(ws).toHaveLength(1);
    // Behind nginx (--nginx), dispatch names the gateway's path there.
    const nginx = engineNamed(ep, 'nginx');
    expect(ws[0]).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${nginx.port}/gateways/gw[12]/v1/ws$`));
    for (const [i, gateway] of [...ep.gateways, ws[0] as string].entries()) {
      const client = await WsTestClient.connect(gateway, await mintToken(`eu_viewer${i}`));
      clients.push(client);
      await client.join(room);
    }
    const sent = await fetch(`${api}/v1/rooms/${room}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'comment', data: { text: 'hello, cluster' } }),
    });
    expect(sent.ok).toBe(true);
    for (const client of clients) {
      await client.waitForEvents(room, 1, 'comment', 20_000);
      const comments = client.events(room).filter((e) => e.type === 'comment');
      expect(comments.map((e) => e.data.text)).toEqual(['hello, cluster']);
    }
  }, 60_000);

  it('routes the API through nginx by room and serves public pulls from its micro-cache', async () => {
    const nginx = `http://127.0.0.1:${engineNamed(current(), 'nginx').port}`;
    const host = await mintToken('us_nghost');
    const created = await http(nginx, 'POST', '/v1/rooms', { token: host, body: { title: 'through nginx' } });
    expect(created.status).toBe(201);
    const room = created.body.room.id as string;
    const viewer = await mintToken('eu_ngviewer');
    const first = await http(nginx, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token: viewer });
    expect(first.status).toBe(200);
    const again = await http(nginx, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token: host });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache-status')).toMatch(/^(HIT|UPDATING|STALE)$/);
    const anonymous = await http(nginx, 'GET', `/v1/rooms/${room}/events?cursor=0`);
    expect(anonymous.status).toBe(401);
  });

  it('restarts a gateway killed with SIGKILL on its port, and the other processes keep running', async () => {
    for (const c of clients) c.terminate();
    const before = current();
    const killed = roleNamed(before, 'gw1');
    process.kill(killed.pid, 'SIGKILL');
    await waitUntil(async () => roleNamed(current(), 'gw1').pid !== killed.pid, 60_000, 'gw1 restarted');
    const after = current();
    expect(roleNamed(after, 'gw1').port).toBe(killed.port);
    expect(await answersReady(killed.port)).toBe(true);
    expect(alive(killed.pid)).toBe(false);
    const others = before.pids.filter((pid) => pid !== killed.pid);
    expect(after.pids.filter((pid) => pid !== roleNamed(after, 'gw1').pid)).toEqual(others);
    expect(others.filter((pid) => !alive(pid))).toEqual([]);
    expect(output).toMatch(
      new RegExp(
        `restarting gw1 \\(gateway\\): pid ${killed.pid} exited unexpectedly \\(signal SIGKILL\\); restart 1 in 0\\.5 s`,
      ),
    );
    expect(cluster?.exitCode).toBeNull();
  }, 90_000);

  it('replaces a gateway that drained (admin endpoint) with a fresh process', async () => {
    const before = current();
    const drained = roleNamed(before, 'gw2');
    const admin = await hs256Token(SECRET, 'us_ops', ['admin']);
    const res = await http(`http://127.0.0.1:${drained.port}`, 'POST', '/v1/admin/gateways/gw2/drain', {
      token: admin,
    });
    expect(res.status).toBe(202);
    await waitUntil(async () => roleNamed(current(), 'gw2').pid !== drained.pid, 60_000, 'gw2 replaced');
    expect(await answersReady(drained.port)).toBe(true);
    expect(output).toContain(`replacing gw2 (gateway): pid ${drained.pid} drained and exited 0`);
    expect(output).not.toContain('stopping everything');
    const after = current();
    const others = before.pids.filter((pid) => pid !== drained.pid);
    expect(after.pids.filter((pid) => pid !== roleNamed(after, 'gw2').pid)).toEqual(others);
    expect(cluster?.exitCode).toBeNull();
  }, 90_000);

  it('restarts killed Redis shards, PostgreSQL and memcached nodes: rooms and events written before are still there', async () => {
    const api = current().apis[0] as string;
    const host = await hs256Token(SECRET, 'us_keeper');
    const created = await http(api, 'POST', '/v1/rooms', { token: host, body: { title: 'kept' } });
    expect(created.status).toBe(201);
    const room = created.body.room.id as string;
    const sent = await http(api, 'POST', `/v1/rooms/${room}/events`, {
      token: host,
      body: { type: 'comment', data: { text: 'before the crash' } },
    });
    expect(sent.status).toBe(201);

    const before = current();
    // Both shards, so whichever holds the room's keys was killed.
    // And a memcached node of each cluster: they come back empty, and the roles use them again.
    const killed = [
      'postgres',
      'redis shard 1',
      'redis shard 2',
      'memcached a1 node 1',
      'memcached a2 node 2',
    ].map((name) => engineNamed(before, name));
    // What the test is about is that written data survives a restart, not the append-only file's
    // window: with appendfsync everysec Redis may postpone writing its buffer while a slow
    // background fsync runs (a busy disk), so wait until both shards have it in the file.
    for (const shard of killed.filter((server) => server.name.startsWith('redis'))) {
      await waitUntil(async () => aofWritten(shard.port), 60_000, `${shard.name} wrote its append-only file`);
    }
    for (const server of killed) process.kill(server.pid, 'SIGKILL');
    await waitUntil(
      // A line printed while an engine is still restarting names no PID for it: wait for a new one.
      async () =>
        killed.every((server) => {
          const { pid } = engineNamed(current(), server.name);
          return pid !== undefined && pid !== server.pid;
        }),
      90_000,
      'the engines restarted',
    );
    for (const server of killed) {
      const now = engineNamed(current(), server.name);
      expect(now).toMatchObject({ port: server.port, dir: server.dir });
      expect(existsSync(server.dir)).toBe(true);
      expect(output).toMatch(new RegExp(`restarting ${server.name}: pid ${server.pid} exited unexpectedly`));
    }
    // The roles' connections to the restarted servers come back by themselves, soon.
    let read: Awaited<ReturnType<typeof http>> | undefined;
    let events: Awaited<ReturnType<typeof http>> | undefined;
    await waitUntil(
      async () => {
        read = await http(api, 'GET', `/v1/rooms/${room}`, { token: host });
        events = await http(api, 'GET', `/v1/rooms/${room}/events`, { token: host });
        return read.status === 200 && events.status === 200;
      },
      60_000,
      'reading the room again',
    );
    expect(read?.body.room).toMatchObject({ id: room, title: 'kept' });
    expect(
      (events?.body.events as { type: string; data: { text: string } }[])
        .filter((e) => e.type === 'comment')
        .map((e) => e.data.text),
    ).toEqual(['before the crash']);
    expect(cluster?.exitCode).toBeNull();
  }, 120_000);

  it('stops everything it started on SIGINT and exits 0', async () => {
    const pids = current().pids;
    // 2 gateways, 1 API, 2 workers, settler, ongoing, 2 Redis shards, nutcracker, NATS, ZooKeeper,
    // PostgreSQL, 2 memcached clusters of 3 nodes, nginx.
    expect(pids).toHaveLength(20);
    expect(pids.every(alive)).toBe(true);
    // And every process it ever ran, the restarted ones' predecessors too.
    const everyPid = [...new Set(states().flatMap((s) => s.pids))];
    for (const c of clients) c.terminate();
    cluster?.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('roomcast cluster: stopped');
    expect(everyPid.filter(alive)).toEqual([]);
    expect(current().engines.filter((e) => existsSync(e.dir))).toEqual([]);
  }, 60_000);
});

describe('roomcast cluster options and token TTLs', () => {
  it('parses flags and refuses bad ones', () => {
    expect(
      parseClusterOptions([
        '--gateways',
        '3',
        '--apis=2',
        '--workers',
        '2',
        '--postgres',
        'private',
        '--base-port',
        '0',
        '--fail-fast',
      ]),
    ).toEqual({
      gateways: 3,
      apis: 2,
      workers: 2,
      postgres: 'private',
      basePort: 0,
      failFast: true,
      nginx: false,
      replicas: 0,
    });
    expect(parseClusterOptions([])).toEqual({
      gateways: 2,
      apis: 2,
      workers: 1,
      postgres: 'auto',
      basePort: 8100,
      failFast: false,
      nginx: false,
      replicas: 0,
    });
    expect(parseClusterOptions(['--nginx'])).toMatchObject({ nginx: true });
    expect(parseClusterOptions(['--replicas', '1'])).toMatchObject({ replicas: 1 });
    expect(parseClusterOptions(['--replicas', '4'])).toMatch(/--replicas must be a whole number from 0 to 3/);
    expect(parseClusterOptions(['--workers', '11'])).toMatch(/--workers must be a whole number from 1 to 10/);
    expect(parseClusterOptions(['--gateways', '0'])).toMatch(/--gateways must be/);
    expect(parseClusterOptions(['--postgres', 'remote'])).toMatch(/--postgres must be/);
    expect(parseClusterOptions(['--zookeepers', '3'])).toMatch(/unknown flag/);
    expect(parseClusterOptions(['--help'])).toBe('help');
  });

  it('reads token TTLs in s, m, h and d', () => {
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('30m')).toBe(1800);
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('7d')).toBe(604_800);
    expect(parseTtl('0s')).toBeUndefined();
    expect(parseTtl('1y')).toBeUndefined();
  });
});
