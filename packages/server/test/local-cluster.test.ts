import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../src/local-cluster/cluster-engines.ts';
import { parseClusterOptions } from '../src/local-cluster/cluster-options.ts';
import { CLUSTER_JSON_PREFIX } from '../src/local-cluster/local-cluster.ts';
import { parseTtl } from '../src/local-cluster/token-command.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// `roomcast cluster` as a user runs it: a child process that starts its own engines (a private
// PostgreSQL here, never the machine's) and roles, prints its endpoints, and stops all of it on SIGINT.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = 'packages/server/src/cli.ts';
const SECRET = 'local-cluster-test-secret-0123456789';

interface Endpoints {
  apis: string[];
  gateways: string[];
  worker: string;
  pids: number[];
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

beforeAll(async () => {
  cluster = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
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
}, 60_000);

async function mintToken(user: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CLI, 'token', '--user', user, '--ttl', '10m'],
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
    expect(ep.gateways).toContain(ws[0]);
    for (const [i, gateway] of ep.gateways.entries()) {
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

  it('stops everything it started on SIGINT and exits 0', async () => {
    const pids = (endpoints as Endpoints).pids;
    // 2 gateways, 1 API, 2 workers, settler, 2 Redis shards, nutcracker, NATS, ZooKeeper, PostgreSQL.
    expect(pids).toHaveLength(12);
    expect(pids.every(alive)).toBe(true);
    for (const c of clients) c.terminate();
    cluster?.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('roomcast cluster: stopped');
    expect(pids.filter(alive)).toEqual([]);
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
      ]),
    ).toEqual({
      gateways: 3,
      apis: 2,
      workers: 2,
      postgres: 'private',
      basePort: 0,
    });
    expect(parseClusterOptions([])).toEqual({
      gateways: 2,
      apis: 2,
      workers: 1,
      postgres: 'auto',
      basePort: 8100,
    });
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
