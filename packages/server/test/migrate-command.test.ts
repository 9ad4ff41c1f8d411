import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_DATABASES, postgresSettings } from '../src/local-cluster/cluster-engines.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';

const run = promisify(execFile);
let pg: LaunchedPostgres;

beforeAll(async () => {
  pg = await launchPostgres({ databases: CLUSTER_DATABASES });
});
afterAll(async () => {
  await pg?.stop();
});

/** `roomcast migrate` with only these ROOMCAST_* settings; never rejects. */
async function migrate(
  settings: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
  Object.assign(env, { ROOMCAST_REGIONS: 'us,eu,ap', ROOMCAST_LOG_LEVEL: 'warn', ...settings });
  try {
    const { stdout, stderr } = await run(process.execPath, [...roomcastCliArgs(), 'migrate'], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failure = err as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('roomcast migrate', () => {
  it('brings every rooms shard, the archive and every balance shard up to date, once', async () => {
    const settings = postgresSettings((database) => pg.dsn(database));
    const first = await migrate(settings);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual([
      'rooms us',
      'rooms eu',
      'rooms ap',
      'archive',
      'ledger shard 0',
      'ledger shard 1',
    ]);
    for (const line of lines) expect(line).toMatch(/ applied 1(, \d+)*$/);

    const second = await migrate(settings);
    expect(second.code).toBe(0);
    for (const line of second.stdout.trim().split('\n')) expect(line).toMatch(/ up to date$/);
  });

  it('migrates what answers and exits 1 naming the database that does not', async () => {
    const settings = {
      ...postgresSettings((database) => pg.dsn(database)),
      // Port 1 answers nothing.
      ROOMCAST_LEDGER_SHARDS: `${pg.dsn('ledger_0')},postgresql://roomcast@127.0.0.1:1/nowhere`,
    };
    const result = await migrate(settings);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ledger shard 0 +ledger +(up to date|applied [\d, ]+)$/m);
    expect(result.stdout).toMatch(
      /^ledger shard 1 +ledger +FAILED: postgresql:\/\/roomcast@127\.0\.0\.1:1\/nowhere: /m,
    );
    expect(result.stderr).toContain('roomcast migrate: migrations failed on ledger shard 1');
  });

  it('refuses to run with no PostgreSQL configured (exit 2), pointing embedded users to roomcast dev', async () => {
    const result = await migrate({});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no PostgreSQL database is configured');
  });
});
