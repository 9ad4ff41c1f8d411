/**
 * nginx.conf generation for the two nginx roles of the benchmark, as pure functions so they can be
 * unit-tested without nginx: the Nchan peer (pub/sub over WebSocket) and the caching reverse proxy
 * of the pull scenario (`proxy_cache` honouring roomcast's own Cache-Control and ETag).
 *
 * Both run unprivileged-style in a private prefix directory (temp paths, pid and logs there), on
 * a loopback port, in the foreground (`daemon off` is given on the command line).
 */
import { existsSync, readFileSync } from 'node:fs';

/** Where Debian's libnginx-mod-nchan puts the module. */
const NCHAN_MODULE_CANDIDATES = [
  '/usr/lib/nginx/modules/ngx_nchan_module.so',
  '/usr/share/nginx/modules/ngx_nchan_module.so',
];

/**
 * The absolute path of ngx_nchan_module.so: read from Debian's modules-available snippet (which
 * names it relative to /usr/lib/nginx), else the usual locations; undefined when not installed.
 */
export function findNchanModule(): string | undefined {
  const snippet = '/usr/share/nginx/modules-available/mod-nchan.conf';
  if (existsSync(snippet)) {
    const match = /load_module\s+(\S+);/.exec(readFileSync(snippet, 'utf8'));
    const named = match?.[1];
    if (named !== undefined) {
      const absolute = named.startsWith('/') ? named : `/usr/lib/nginx/${named}`;
      if (existsSync(absolute)) return absolute;
    }
  }
  return NCHAN_MODULE_CANDIDATES.find((path) => existsSync(path));
}

/** Settings common to both configurations. */
export interface NginxBase {
  /** Private prefix directory (absolute): temp paths, logs and pid live here. */
  prefix: string;
  port: number;
  /** nginx worker processes. */
  workers: number;
  /**
   * Per-worker connection slots. Nchan also takes slots for its own channel work, so a worker
   * needs more slots than sockets.
   */
  workerConnections: number;
  /** Open files a worker may have (the process's hard limit caps it). */
  fileLimit: number;
  /** Error log path (default `<prefix>/error.log`; outside the prefix it outlives the run). */
  errorLog?: string;
}

/** The Nchan peer's settings. */
export interface NchanConfig extends NginxBase {
  modulePath: string;
  /** Messages kept per channel (Nchan's buffer; subscribers start with the newest anyway). */
  bufferLength: number;
}

/** The caching proxy's settings. */
export interface CacheProxyConfig extends NginxBase {
  /** The origin, e.g. http://127.0.0.1:8080. */
  origin: string;
}

/** Main-context and `http` preamble shared by both. */
function preamble(base: NginxBase, modules: string[]): string {
  const p = base.prefix;
  return [
    ...modules.map((module) => `load_module ${module};`),
    // The harness runs as root in a container; the workers must read the private prefix.
    'user root root;',
    `worker_processes ${base.workers};`,
    `worker_rlimit_nofile ${base.fileLimit};`,
    `error_log ${base.errorLog ?? `${p}/error.log`} warn;`,
    `pid ${p}/nginx.pid;`,
    `events { worker_connections ${base.workerConnections}; multi_accept on; }`,
    'http {',
    `  client_body_temp_path ${p}/client_body;`,
    `  proxy_temp_path ${p}/proxy;`,
    `  fastcgi_temp_path ${p}/fastcgi;`,
    `  uwsgi_temp_path ${p}/uwsgi;`,
    `  scgi_temp_path ${p}/scgi;`,
    '  keepalive_requests 1000000;',
  ].join('\n');
}

/**
 * The Nchan peer: `GET /sub/<room>` is a WebSocket subscriber of channel `<room>` that starts with
 * the next message; `POST /pub/<room>` publishes the request body to it as is; `/healthz` answers 200.
 */
export function nchanConfig(config: NchanConfig): string {
  return `${preamble(config, [config.modulePath])}
  access_log off;
  server {
    listen 127.0.0.1:${config.port} reuseport;
    location = /healthz { return 200 "ok\\n"; }
    location ~ ^/sub/(?<room>[A-Za-z0-9_-]+)$ {
      nchan_subscriber websocket;
      nchan_channel_id $room;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(?<room>[A-Za-z0-9_-]+)$ {
      nchan_publisher http;
      nchan_channel_id $room;
      nchan_message_buffer_length ${config.bufferLength};
      nchan_message_timeout 60s;
    }
  }
}
`;
}

/**
 * The caching reverse proxy of the pull scenario: caches 200 responses as the origin's
 * Cache-Control says (max-age, stale-while-revalidate, Vary), one origin request per key at a time
 * (`proxy_cache_lock`), refreshes in the background while serving stale, and revalidates with the
 * origin's ETag. Each request that reached the origin is logged to `<prefix>/upstream.log`.
 */
export function cacheProxyConfig(config: CacheProxyConfig): string {
  const p = config.prefix;
  return `${preamble(config, [])}
  log_format upstream '$msec $upstream_cache_status $upstream_addr $status';
  proxy_cache_path ${p}/cache levels=1:2 keys_zone=pull:16m max_size=256m inactive=10m use_temp_path=off;
  upstream origin {
    server ${config.origin.replace(/^https?:\/\//, '')};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${config.port} reuseport;
    location = /healthz { access_log off; return 200 "ok\\n"; }
    location / {
      access_log ${p}/upstream.log upstream if=$upstream_addr;
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache pull;
      proxy_cache_key $request_uri;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      proxy_cache_revalidate on;
      proxy_cache_background_update on;
      proxy_cache_use_stale updating error timeout;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}
