import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { type RunningSettler, startSettler } from '../src/roles/settler.ts';
import { waitUntil } from './helpers/engine-process.ts';
import { http } from './helpers/http.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';

// The settler's ops endpoints against real engines: the ledger's balance shards on one private
// PostgreSQL and the rooms store on another, so stopping the ledger's server takes down only the
// ledger and /readyz must say which one.
let ledgerPg: LaunchedPostgres | undefined;
let roomsPg: LaunchedPostgres | undefined;
let running: RunningSettler | undefined;

beforeAll(async () => {
  [ledgerPg, roomsPg] = await Promise.all([
    launchPostgres({ databases: ['l0', 'l1'] }),
    launchPostgres({ databases: ['rooms'] }),
  ]);
  const rooms = roomsPg.dsn('rooms');
  const config = loadConfig({
    env: {
      // Port 0: a free port, as every test and a parallel settler need.
      ROOMCAST_PORT: '0',
      ROOMCAST_LEDGER_SHARDS: [ledgerPg.dsn('l0'), ledgerPg.dsn('l1')].join(','),
      ROOMCAST_ROOMS_SHARDS: `us=${rooms},eu=${rooms},ap=${rooms}`,
      ROOMCAST_ROOMS_ARCHIVE: rooms,
      ROOMCAST_SETTLER_INTERVAL_MS: '100',
      ROOMCAST_LEDGER_CONNECT_TIMEOUT_MS: '1000',
    },
  });
  running = await startSettler(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  await running?.close();
  await Promise.all([ledgerPg?.stop(), roomsPg?.stop()]);
});

const url = () => (running as RunningSettler).url;

/** The value of one sample line of /metrics, e.g. `roomcast_settler_runs_total{outcome="ok"}`. */
async function sample(series: string): Promise<number | undefined> {
  const { body } = await http(url(), 'GET', '/metrics');
  const line = (body as string).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('roomcast settler ops endpoints', () => {
  it('listens on the free port it was given 0 for', () => {
    expect(running?.port).toBeGreaterThan(0);
    expect(url()).toBe(`http://127.0.0.1:${running?.port}`);
  });

  it('answers /healthz', async () => {
    const res = await http(url(), 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers /readyz once the ledger and the rooms store answer', async () => {
    const res = await http(url(), 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { ledger: 'ok', rooms: 'ok' } });
  });

  it('exports its runs and the time of the last successful one on /metrics', async () => {
    const res = await http(url(), 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE roomcast_settler_runs_total counter');
    expect(res.body).toContain('# TYPE roomcast_settler_last_success_timestamp_seconds gauge');
    expect(res.body).toContain('roomcast_process_process_cpu_seconds_total');
    await waitUntil(
      async () => ((await sample('roomcast_settler_runs_total{outcome="ok"}')) ?? 0) >= 2,
      20_000,
      'two settler runs succeeded',
    );
    const last = (await sample('roomcast_settler_last_success_timestamp_seconds')) ?? 0;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(60);
    expect(await sample('roomcast_settler_runs_total{outcome="error"}')).toBe(0);
  });

  it('answers /readyz 503 unavailable naming the ledger while its PostgreSQL is down, and ready again after', async () => {
    const pg = ledgerPg as LaunchedPostgres;
    await pg.pause();
    try {
      const res = await http(url(), 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(res.body.error.message).toMatch(/^ledger: /);
      expect(res.body.error.message).not.toContain('rooms:');
      await waitUntil(
        async () => ((await sample('roomcast_settler_runs_total{outcome="error"}')) ?? 0) >= 1,
        20_000,
        'a settler run counted as failed',
      );
    } finally {
      await pg.resume();
    }
    await waitUntil(
      async () => (await http(url(), 'GET', '/readyz')).status === 200,
      20_000,
      '/readyz ready again',
    );
  });
});
