import { describe, expect, it } from 'vitest';
import { cacheProxyConfig, nchanConfig } from '../src/peers/nginx-config.ts';
import { countUpstreamRequests } from '../src/scenarios/pull.ts';

const base = { prefix: '/tmp/p', port: 8123, workers: 1, workerConnections: 40_000, fileLimit: 20_000 };

/** Every `{` has its `}` (nginx refuses an unbalanced file). */
function balanced(config: string): boolean {
  let depth = 0;
  for (const char of config.replace(/"[^"]*"/g, '')) {
    if (char === '{') depth++;
    if (char === '}') depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

describe('nchanConfig', () => {
  const config = nchanConfig({
    ...base,
    modulePath: '/usr/lib/nginx/modules/ngx_nchan_module.so',
    bufferLength: 100,
  });

  it('loads the Nchan module first and keeps every path inside the private prefix', () => {
    expect(config.startsWith('load_module /usr/lib/nginx/modules/ngx_nchan_module.so;')).toBe(true);
    expect(config).toContain('pid /tmp/p/nginx.pid;');
    expect(config).toContain('error_log /tmp/p/error.log warn;');
    expect(config).toContain('client_body_temp_path /tmp/p/client_body;');
    expect(config).not.toMatch(/\/var\/(log|lib)/);
  });

  it('listens on loopback only, on the given port', () => {
    expect(config).toContain('listen 127.0.0.1:8123');
    expect(config).not.toMatch(/listen (?!127\.0\.0\.1)/);
  });

  it('subscribes over WebSocket per room, starting with the next message, and publishes per room', () => {
    expect(config).toMatch(
      /location ~ \^\/sub\/\(\?<room>[^)]+\)\$ \{\s+nchan_subscriber websocket;\s+nchan_channel_id \$room;\s+nchan_subscriber_first_message newest;/,
    );
    expect(config).toMatch(
      /location ~ \^\/pub\/\(\?<room>[^)]+\)\$ \{\s+nchan_publisher http;\s+nchan_channel_id \$room;/,
    );
    expect(config).toContain('nchan_message_buffer_length 100;');
  });

  it('allows the connections asked for and answers /healthz', () => {
    expect(config).toContain('worker_connections 40000;');
    expect(config).toContain('worker_rlimit_nofile 20000;');
    expect(config).toContain('location = /healthz');
    expect(balanced(config)).toBe(true);
  });
});

describe('cacheProxyConfig', () => {
  const config = cacheProxyConfig({ ...base, origin: 'http://127.0.0.1:9000' });

  it('proxies to the origin with keep-alive', () => {
    expect(config).toContain('server 127.0.0.1:9000;');
    expect(config).toContain('proxy_pass http://origin;');
    expect(config).toContain('proxy_http_version 1.1;');
    expect(config).not.toContain('load_module');
  });

  it('caches by URL as the origin’s own headers say, one origin request per key at a time', () => {
    expect(config).toContain('proxy_cache_key $request_uri;');
    expect(config).toContain('proxy_cache_lock on;');
    expect(config).toContain('proxy_cache_revalidate on;');
    expect(config).toContain('proxy_cache_use_stale updating error timeout;');
    expect(config).not.toContain('proxy_cache_valid');
    expect(config).not.toContain('proxy_ignore_headers');
  });

  it('logs only the requests that reached the origin', () => {
    expect(config).toContain('access_log /tmp/p/upstream.log upstream if=$upstream_addr;');
    expect(balanced(config)).toBe(true);
  });
});

describe('countUpstreamRequests', () => {
  it('counts the log lines stamped within the window', () => {
    const log = [
      '1700000000.100 MISS 127.0.0.1:9000 200',
      '1700000001.500 EXPIRED 127.0.0.1:9000 200',
      '1700000003.000 MISS 127.0.0.1:9000 200',
      '',
    ].join('\n');
    expect(countUpstreamRequests(log, 1_700_000_000_000, 1_700_000_002_000)).toBe(2);
  });
});
