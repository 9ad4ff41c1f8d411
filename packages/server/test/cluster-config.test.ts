import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';
import { assertClusterConfig, RoleConfigError, redisOptionsFromUrl } from '../src/roles/infrastructure.ts';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A configuration with every engine real, as the cluster roles need. */
const CLUSTER_ENV = {
  ROOMCAST_JWT_SECRET: 'a-secret-of-sixteen-chars',
  ROOMCAST_ROOMS_SHARDS: 'us=postgresql://h/us,eu=postgresql://h/eu,ap=postgresql://h/ap',
  ROOMCAST_ROOMS_ARCHIVE: 'postgresql://h/archive',
  ROOMCAST_LEDGER_SHARDS: 'postgresql://h/l0,postgresql://h/l1',
  ROOMCAST_COLLECTIONS_ENGINE: 'redis',
  ROOMCAST_COLLECTIONS_REDIS_URL: 'redis://127.0.0.1:22121',
  ROOMCAST_BUS_ENGINE: 'nats',
  ROOMCAST_BUS_URL: 'nats://127.0.0.1:4222',
};

describe('collections and bus settings', () => {
  it('default to the in-process engines of roomcast dev', () => {
    const config = loadConfig({ env: {} });
    expect(config.collections).toEqual({
      engine: 'memory',
      keyPrefix: 'rc:',
      redisProxies: [],
      failoverFence: false,
    });
    expect(config.bus).toEqual({ engine: 'memory', redisMode: 'classic' });
  });

  it('need a URL for a real engine, of the engine’s scheme', () => {
    expect(() => loadConfig({ env: { ROOMCAST_COLLECTIONS_ENGINE: 'redis' } })).toThrow(
      /collections\.redisUrl.*required/,
    );
    expect(() => loadConfig({ env: { ROOMCAST_BUS_ENGINE: 'nats' } })).toThrow(/bus\.url.*required/);
    expect(() =>
      loadConfig({ env: { ROOMCAST_BUS_ENGINE: 'redis', ROOMCAST_BUS_URL: 'nats://127.0.0.1:4222' } }),
    ).toThrow(/bus\.url.*nats:\/\/ URL does not fit bus\.engine redis/);
    expect(() => loadConfig({ argv: ['--bus.engine', 'kafka'] })).toThrow(ConfigError);
    const config = loadConfig({
      argv: ['--bus.engine', 'redis', '--bus.url', 'redis://127.0.0.1:6380', '--bus.redis-mode', 'sharded'],
    });
    expect(config.bus).toEqual({ engine: 'redis', url: 'redis://127.0.0.1:6380', redisMode: 'sharded' });
  });

  it('are refused by the cluster roles when any engine is embedded, naming the setting', () => {
    expect(() => assertClusterConfig(loadConfig({ env: CLUSTER_ENV }), 'gateway')).not.toThrow();
    const without = (name: keyof typeof CLUSTER_ENV) => {
      const env: Record<string, string> = { ...CLUSTER_ENV };
      delete env[name];
      if (name === 'ROOMCAST_ROOMS_SHARDS') delete env.ROOMCAST_ROOMS_ARCHIVE;
      if (name === 'ROOMCAST_COLLECTIONS_ENGINE') delete env.ROOMCAST_COLLECTIONS_REDIS_URL;
      if (name === 'ROOMCAST_BUS_ENGINE') delete env.ROOMCAST_BUS_URL;
      return loadConfig({ env });
    };
    const refused = (name: keyof typeof CLUSTER_ENV, role: 'gateway' | 'api' | 'worker', message: RegExp) => {
      let error: unknown;
      try {
        assertClusterConfig(without(name), role);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RoleConfigError);
      expect((error as RoleConfigError).code).toBe('invalid_config');
      expect((error as Error).message).toMatch(message);
    };
    refused('ROOMCAST_COLLECTIONS_ENGINE', 'gateway', /roomcast gateway needs collections\.engine redis/);
    refused('ROOMCAST_BUS_ENGINE', 'api', /roomcast api needs bus\.engine/);
    refused('ROOMCAST_ROOMS_SHARDS', 'worker', /rooms\.shards/);
    refused('ROOMCAST_LEDGER_SHARDS', 'api', /ledger\.shards/);
    refused('ROOMCAST_JWT_SECRET', 'gateway', /jwt\.secret/);
    // The worker verifies no client tokens, so it runs without a secret.
    expect(() => assertClusterConfig(without('ROOMCAST_JWT_SECRET'), 'worker')).not.toThrow();
  });

  it('read Redis URLs with credentials and database', () => {
    expect(redisOptionsFromUrl('redis://u:p%40ss@10.0.0.1:6380/2')).toEqual({
      host: '10.0.0.1',
      port: 6380,
      username: 'u',
      password: 'p@ss',
      db: 2,
    });
    expect(redisOptionsFromUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379 });
  });

  it('make `roomcast gateway` on embedded engines exit with code 2 and a line naming the setting', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
    const failure = await run(process.execPath, [...roomcastCliArgs(), 'gateway'], {
      cwd: ROOT,
      env,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/roomcast gateway needs collections\.engine redis/);
  });
});
