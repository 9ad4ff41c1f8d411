import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memcachedClustersOf } from '../src/config/config-schema.ts';
import { ConfigError, envNameOf, flagNameOf, loadConfig } from '../src/config/load-config.ts';

describe('configuration', () => {
  it('has defaults that run roomcast dev on port 8080 with the us, eu and ap regions', () => {
    const config = loadConfig({ env: {} });
    expect(config.port).toBe(8080);
    expect(config.regions).toEqual(['us', 'eu', 'ap']);
    expect(config.dataDir).toBe('.roomcast');
  });

  it('takes flags over env over file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-config-'));
    const file = join(dir, 'roomcast.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 7000, gateway: { batchWindowMs: 30 }, history: { capacity: 50 } }),
    );
    const config = loadConfig({
      argv: ['--config', file, '--port', '9000'],
      env: { ROOMCAST_PORT: '8000', ROOMCAST_GATEWAY_BATCH_WINDOW_MS: '5' },
    });
    expect(config.port).toBe(9000);
    expect(config.gateway.batchWindowMs).toBe(5);
    expect(config.history.capacity).toBe(50);
  });

  it('maps every setting to an env var and a flag', () => {
    expect(envNameOf('gateway.batchWindowMs')).toBe('ROOMCAST_GATEWAY_BATCH_WINDOW_MS');
    expect(flagNameOf('gateway.batchWindowMs')).toBe('--gateway.batch-window-ms');
    expect(
      loadConfig({ argv: ['--data', '/tmp/x', '--regions', 'us,cn'], env: { ROOMCAST_DATA: '/ignored' } }),
    ).toMatchObject({
      dataDir: '/tmp/x',
      regions: ['us', 'cn'],
    });
  });

  it.each([
    [{ env: { ROOMCAST_PORT: 'eighty' } }, 'ROOMCAST_PORT'],
    [{ env: { ROOMCAST_PORT: '70000' } }, 'port'],
    [{ argv: ['--gateway.batch-window-ms', '-1'] }, 'gateway.batchWindowMs'],
    [{ env: { ROOMCAST_REGIONS: 'US' } }, 'regions'],
    [{ env: { ROOMCAST_TYPO: '1' } }, 'ROOMCAST_TYPO'],
    [{ argv: ['--no-such-flag', '1'] }, '--no-such-flag'],
    [{ env: { ROOMCAST_JWT_SECRET: 'short' } }, 'jwt.secret'],
    [{ argv: ['--gateway.send-queue-hard-bytes', '10'] }, 'gateway.sendQueueHardBytes'],
  ])('refuses a bad value and names the setting (%j)', (sources, name) => {
    expect(() => loadConfig(sources)).toThrow(ConfigError);
    expect(() => loadConfig(sources)).toThrow(name);
  });

  it('reads rooms shards as region=url pairs from env and flags, URLs with query strings included', () => {
    const config = loadConfig({
      env: {
        ROOMCAST_ROOMS_SHARDS:
          'us=postgresql://rc:pw@db1:5432/us?sslmode=require&application_name=x, eu=postgresql://db1/eu,ap=postgres://db2/ap',
        ROOMCAST_ROOMS_ARCHIVE: 'postgresql://db3/archive',
      },
      argv: ['--rooms.hot-window-days', '7', '--rooms.connect-timeout-ms', '500'],
    });
    expect(config.rooms).toMatchObject({
      shards: {
        us: 'postgresql://rc:pw@db1:5432/us?sslmode=require&application_name=x',
        eu: 'postgresql://db1/eu',
        ap: 'postgres://db2/ap',
      },
      archive: 'postgresql://db3/archive',
      hotWindowDays: 7,
      connectTimeoutMs: 500,
    });
    expect(loadConfig({ env: {} }).rooms).toMatchObject({ shards: {}, hotWindowDays: 28 });
    expect(
      loadConfig({
        overrides: { rooms: { shards: { us: 'postgresql://a/b' }, archive: 'postgresql://a/c' } },
        argv: ['--regions', 'us'],
      }).rooms.shards,
    ).toEqual({ us: 'postgresql://a/b' });
  });

  it.each([
    [{ env: { ROOMCAST_ROOMS_SHARDS: 'us=postgresql://a/us' } }, 'rooms.shards'],
    [
      { env: { ROOMCAST_ROOMS_SHARDS: 'us=postgresql://a/us,eu=postgresql://a/eu,ap=postgresql://a/ap' } },
      'rooms.archive',
    ],
    [{ env: { ROOMCAST_ROOMS_SHARDS: 'us=mysql://a/us' } }, 'rooms.shards'],
    [{ env: { ROOMCAST_ROOMS_SHARDS: 'us' } }, 'ROOMCAST_ROOMS_SHARDS'],
    [{ argv: ['--rooms.shards', 'us=postgresql://a,us=postgresql://b'] }, '--rooms.shards'],
    [{ argv: ['--rooms.hot-window-days', '-1'] }, 'rooms.hotWindowDays'],
    [{ env: { ROOMCAST_ROOMS_HOST_ABSENT_END_MS: '-5' } }, 'rooms.hostAbsentEndMs'],
    [{ env: { ROOMCAST_ONGOING_URLS: 'not a url' } }, 'ongoing.urls'],
    [{ env: { ROOMCAST_SHARD_PROXY_LISTEN: '127.0.0.1:99999' } }, 'shardProxy.listen'],
    [{ env: { ROOMCAST_COLLECTIONS_REDIS_PROXIES: 'http://x:1' } }, 'collections.redisProxies'],
  ])('refuses a bad rooms setting and names it (%j)', (sources, name) => {
    expect(() => loadConfig(sources)).toThrow(ConfigError);
    expect(() => loadConfig(sources)).toThrow(name);
  });

  it('reads memcached peer clusters as name=zone/host:port,… from env, every cluster of every zone', () => {
    const config = loadConfig({
      env: {
        ROOMCAST_KV_CACHE_ENGINE: 'memcached',
        ROOMCAST_KV_CACHE_ZONE: 'b',
        ROOMCAST_KV_CACHE_CLUSTERS:
          'a1=a/10.0.1.1:11211,10.0.1.2:11211,b1=b/cache-b1.internal:11211,b2=b/10.0.3.1:11211',
      },
    });
    expect(memcachedClustersOf(config.kvCache.clusters)).toEqual([
      { name: 'a1', zone: 'a', nodes: ['10.0.1.1:11211', '10.0.1.2:11211'] },
      { name: 'b1', zone: 'b', nodes: ['cache-b1.internal:11211'] },
      { name: 'b2', zone: 'b', nodes: ['10.0.3.1:11211'] },
    ]);
    expect(loadConfig({ env: {} }).kvCache).toMatchObject({ engine: 'memory', zone: 'a', keyPrefix: 'rc:' });
  });

  it.each([
    [{ ROOMCAST_KV_CACHE_ENGINE: 'memcached' }, 'kvCache.clusters'],
    [{ ROOMCAST_KV_CACHE_ENGINE: 'memcached', ROOMCAST_KV_CACHE_CLUSTERS: 'b1=b/h:11211' }, 'kvCache.zone'],
    [{ ROOMCAST_KV_CACHE_CLUSTERS: 'a1=a/h:11211,a2=a/h:11211' }, 'lists h:11211 twice'],
    [{ ROOMCAST_KV_CACHE_CLUSTERS: 'a1=a/h' }, 'kvCache.clusters.a1'],
    [{ ROOMCAST_KV_CACHE_CLUSTERS: 'a1=a/h:70000' }, 'at most 65535'],
    [{ ROOMCAST_KV_CACHE_CLUSTERS: 'a 1=a/h:11211' }, 'kvCache.clusters'],
    [{ ROOMCAST_KV_CACHE_KEY_PREFIX: 'has space' }, 'kvCache.keyPrefix'],
    [
      { ROOMCAST_KV_CACHE_BACKOFF_MS: '5000', ROOMCAST_KV_CACHE_BACKOFF_MAX_MS: '1000' },
      'kvCache.backoffMaxMs',
    ],
    [{ ROOMCAST_KV_CACHE_MAX_VALUE_BYTES: '2000000' }, 'kvCache.maxValueBytes'],
  ])('refuses a bad kvCache setting and names it (%j)', (env, name) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(name);
  });

  it('refuses a config file nested deeper than any setting, naming the file and the limit', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'roomcast-config-')), 'deep.json');
    writeFileSync(file, `{"gateway":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(() => loadConfig({ argv: ['--config', file] })).toThrow(ConfigError);
    expect(() => loadConfig({ argv: ['--config', file] })).toThrow(
      /deep\.json: config\.gateway.* nests deeper than 32 levels/,
    );
  });

  it('reports an unreadable config file by name', () => {
    expect(() => loadConfig({ argv: ['--config', '/nonexistent/roomcast.json'] })).toThrow(
      '/nonexistent/roomcast.json',
    );
  });
});
