/** One gateway behind nginx: its ID (the dispatch group's gateway) and its `host:port`. */
export interface NginxGateway {
  id: string;
  address: string;
}

/** What `roomcast nginx-config` renders a configuration for. */
export interface ClusterNginxSpec {
  /** `host:port` nginx listens on. */
  listen: string;
  /** The API nodes, `host:port`, in a stable order (consistent hashing is by address). */
  apis: readonly string[];
  /** The gateways, proxied at `/gateways/<id>/v1/ws`; `/v1/ws` goes to any of them. */
  gateways: readonly NginxGateway[];
  /** Directory for nginx's pid, temp files, caches and logs (absolute). */
  prefix: string;
  /** nginx worker processes; default `auto`. */
  workers?: number;
  /** Size of the pull answers' cache, MiB. */
  pullCacheMb: number;
  /** How long one caller's access check for one room is reused, seconds (a ban reaches cached pulls this late). */
  accessCacheSeconds: number;
  /** `user` directive (root when nginx runs as root on a test machine); omitted when undefined. */
  user?: string;
}

/** Room IDs as the API takes them (room-ids.ts): the routing regexes must not match more. Quoted in nginx (braces). */
const ROOM = '[A-Za-z0-9_-]{1,128}';
const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;
const GATEWAY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A spec nginx would reject or that would route wrongly, named (throws RangeError). */
function check(spec: ClusterNginxSpec): void {
  if (!HOST_PORT.test(spec.listen)) throw new RangeError(`listen ${spec.listen} is not host:port`);
  if (spec.apis.length === 0) throw new RangeError('at least one API node is needed');
  for (const api of spec.apis)
    if (!HOST_PORT.test(api)) throw new RangeError(`API node ${api} is not host:port`);
  for (const gateway of spec.gateways) {
    if (!GATEWAY_ID.test(gateway.id))
      throw new RangeError(`gateway ID ${gateway.id} is not 1–64 of [A-Za-z0-9_-]`);
    if (!HOST_PORT.test(gateway.address))
      throw new RangeError(`gateway ${gateway.id} address ${gateway.address} is not host:port`);
  }
  if (new Set(spec.gateways.map((g) => g.id)).size !== spec.gateways.length)
    throw new RangeError('a gateway ID is listed twice');
  if (spec.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}( [a-z_][a-z0-9_-]{0,31})?$/.test(spec.user)) {
    throw new RangeError(`user ${spec.user} is not "user" or "user group"`);
  }
  if (!spec.prefix.startsWith('/') || /[\s;{}'"]/.test(spec.prefix))
    throw new RangeError(`prefix ${spec.prefix} must be an absolute path without spaces or quotes`);
}

/**
 * An nginx configuration for a roomcast cluster (`roomcast nginx-config`, docs/nginx.md):
 *
 * - **API by room.** Every `/v1/rooms/<room>/…` request goes to the API node chosen by
 *   `hash <room> consistent` (ketama), so one room's requests meet one node's room cache; adding
 *   a node moves only about its share of rooms. Requests without a room spread by request ID.
 * - **Gateways.** `/gateways/<id>/v1/ws` is gateway `<id>` (what dispatch names, when gateways
 *   announce these URLs as their public URLs); `/v1/ws` is any gateway.
 * - **Pull through a micro-cache.** `GET` of a room's events and state is cached as roomcast's
 *   `Cache-Control` and `ETag` say (public rooms one second, private rooms never; `Vary:
 *   Authorization` unless the API runs with `pull.sharedCache`). Before serving anything, nginx
 *   asks the API node of the room whether this caller may read it (`GET
 *   /v1/rooms/<room>/access`, `auth_request`), and reuses that answer per caller and room for
 *   `accessCacheSeconds`: a stored copy never reaches a caller the API would refuse. A refused
 *   check sends the request itself to the API, uncached, for roomcast's own error answer.
 */
export function renderClusterNginxConfig(spec: ClusterNginxSpec): string {
  check(spec);
  const p = spec.prefix;
  const servers = (addresses: readonly string[]) =>
    addresses.map((a) => `    server ${a} max_fails=3 fail_timeout=5s;`).join('\n');
  const gatewayMap = spec.gateways.map((g) => `    ${g.id} ${g.address};`).join('\n');
  const gatewayUpstream =
    spec.gateways.length === 0
      ? ''
      : `  upstream roomcast_gateways {\n${servers(spec.gateways.map((g) => g.address))}\n  }\n`;
  const anyGateway =
    spec.gateways.length === 0
      ? '    location = /v1/ws { return 503; }'
      : `    location = /v1/ws {
      proxy_pass http://roomcast_gateways;
      include ${p}/websocket.conf;
    }`;
  return `# Rendered by \`roomcast nginx-config\`; docs/nginx.md explains each part.
${spec.user === undefined ? '' : `user ${spec.user};\n`}worker_processes ${spec.workers ?? 'auto'};
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
events { worker_connections 8192; }

http {
  client_body_temp_path ${p}/client_body;
  proxy_temp_path ${p}/proxy;
  fastcgi_temp_path ${p}/fastcgi;
  uwsgi_temp_path ${p}/uwsgi;
  scgi_temp_path ${p}/scgi;
  server_tokens off;
  client_max_body_size 1m;
  keepalive_requests 100000;

  log_format roomcast '$msec $request_method $uri $status room=$roomcast_room upstream=$upstream_addr cache=$upstream_cache_status';
  access_log ${p}/access.log roomcast;

  # The room a request is about, from its path; the hash key is the room, or the request ID for
  # requests about no room (they spread evenly).
  map $uri $roomcast_room {
    "~^/v1/rooms/(?<room>${ROOM})(/|$)" $room;
    default "";
  }
  map $roomcast_room $roomcast_api_key {
    "" $request_id;
    default $roomcast_room;
  }
  map $http_upgrade $roomcast_connection {
    default upgrade;
    "" close;
  }
  map $request_method $roomcast_pull_method {
    GET 1;
    HEAD 1;
    default 0;
  }
  map $roomcast_gateway $roomcast_gateway_address {
${gatewayMap}
    default "";
  }

  upstream roomcast_api {
    hash $roomcast_api_key consistent;
${servers(spec.apis)}
    keepalive 64;
  }
  # The same servers hashed by the pull location's room: the access check and the pull it guards
  # reach the room's node (a subrequest shares the request's variables, so it gets its own key).
  upstream roomcast_api_by_room {
    hash $roomcast_pull_room consistent;
${servers(spec.apis)}
    keepalive 64;
  }
${gatewayUpstream}
  proxy_cache_path ${p}/pull-cache levels=1:2 keys_zone=roomcast_pull:16m max_size=${spec.pullCacheMb}m inactive=2m use_temp_path=off;
  proxy_cache_path ${p}/access-cache levels=1:2 keys_zone=roomcast_access:16m max_size=64m inactive=1m use_temp_path=off;

  server {
    listen ${spec.listen} reuseport;

    location = /nginx-healthz { access_log off; return 200 "ok\\n"; }

    # A room's pull answers: events and state, through the micro-cache, behind the access check.
    location ~ "^/v1/rooms/(?<roomcast_pull_room>${ROOM})/(events|state|state/version)$" {
      error_page 418 = @roomcast_room_origin;
      if ($roomcast_pull_method = 0) { return 418; }
      auth_request /_roomcast/access;
      # Refused (401, 403) or not found (nginx reports a 404 of the check as 500): the API answers
      # the request itself, with its own error body.
      error_page 401 403 500 = @roomcast_room_origin;
      proxy_pass http://roomcast_api_by_room;
      include ${p}/proxy.conf;
      proxy_cache roomcast_pull;
      # The parameters the pull endpoints read, not the raw query: made-up parameters cannot
      # bust the cache and send every poll to the origin.
      proxy_cache_key "$uri|c=$arg_cursor|e=$arg_epoch|l=$arg_limit|h=$arg_have";
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      proxy_cache_revalidate on;
      proxy_cache_background_update on;
      proxy_cache_use_stale updating;
      add_header X-Cache-Status $upstream_cache_status always;
    }

    location = /_roomcast/access {
      internal;
      # Logged like requests (uri /_roomcast/access), so the checks that reach the API can be counted.
      log_subrequest on;
      proxy_pass http://roomcast_api_by_room/v1/rooms/$roomcast_pull_room/access;
      include ${p}/proxy.conf;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_cache roomcast_access;
      proxy_cache_key "$roomcast_pull_room|$http_authorization";
      proxy_cache_lock on;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
      proxy_cache_valid 204 ${spec.accessCacheSeconds}s;
      proxy_cache_valid any 0;
    }

    location @roomcast_room_origin {
      proxy_pass http://roomcast_api_by_room;
      include ${p}/proxy.conf;
    }

    # Everything else of the API, by room.
    location / {
      proxy_pass http://roomcast_api;
      include ${p}/proxy.conf;
    }

    location ~ "^/gateways/(?<roomcast_gateway>[A-Za-z0-9_-]{1,64})/v1/ws$" {
      if ($roomcast_gateway_address = "") { return 404; }
      proxy_pass http://$roomcast_gateway_address/v1/ws$is_args$args;
      include ${p}/websocket.conf;
    }
${anyGateway}
  }
}
`;
}

/** The `include`d snippets the configuration names, by file name in the prefix. */
export function nginxSnippets(): Record<string, string> {
  return {
    'proxy.conf': `proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_connect_timeout 2s;
proxy_read_timeout 30s;
`,
    'websocket.conf': `proxy_http_version 1.1;
proxy_set_header Upgrade $http_upgrade;
proxy_set_header Connection $roomcast_connection;
proxy_set_header Host $host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_read_timeout 1h;
proxy_send_timeout 1h;
proxy_buffering off;
`,
  };
}
