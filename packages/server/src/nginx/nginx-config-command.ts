import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ClusterNginxSpec,
  type NginxGateway,
  nginxSnippets,
  renderClusterNginxConfig,
} from './cluster-nginx-config.ts';

export const NGINX_CONFIG_HELP = `Usage: roomcast nginx-config --apis HOST:PORT,… --prefix DIR [--listen HOST:PORT]
         [--gateways ID=HOST:PORT,…] [--workers N] [--pull-cache-mb M] [--access-cache-seconds S] [--user U]

Writes an nginx configuration for a roomcast cluster into DIR (nginx.conf and the snippets it
includes; nginx keeps its pid, temp files, caches and logs there too) and prints how to run it:
API requests routed by room (hash of the room ID, consistent), WebSockets to the gateways
(/gateways/<id>/v1/ws, and /v1/ws to any), pull answers through a micro-cache behind an access
check. See docs/nginx.md.

  --listen               where nginx listens (default 127.0.0.1:8000)
  --apis                 the API nodes, in a stable order
  --gateways             the gateways by ID (their --gateway-id)
  --workers              nginx worker processes (default auto)
  --pull-cache-mb        size of the pull cache (default 256)
  --access-cache-seconds how long one caller's access check for a room is reused (default 5):
                         a ban reaches cached pulls at most this late
  --user                 nginx's \`user\` directive, e.g. "www-data www-data" (default: none)`;

const listOf = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** `roomcast nginx-config …`: returns the exit code. */
export function runNginxConfigCommand(argv: string[]): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        listen: { type: 'string', default: '127.0.0.1:8000' },
        apis: { type: 'string' },
        gateways: { type: 'string' },
        prefix: { type: 'string' },
        workers: { type: 'string' },
        'pull-cache-mb': { type: 'string', default: '256' },
        'access-cache-seconds': { type: 'string', default: '5' },
        user: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`roomcast nginx-config: ${(err as Error).message}\n${NGINX_CONFIG_HELP}`);
    return 2;
  }
  if (values.help === true) {
    console.log(NGINX_CONFIG_HELP);
    return 0;
  }
  const fail = (message: string): number => {
    console.error(`roomcast nginx-config: ${message}`);
    return 2;
  };
  if (typeof values.prefix !== 'string') return fail('--prefix DIR is required');
  const prefix = isAbsolute(values.prefix) ? values.prefix : resolve(values.prefix);
  const gateways: NginxGateway[] = [];
  for (const entry of listOf(values.gateways as string | undefined)) {
    const eq = entry.indexOf('=');
    if (eq < 1) return fail(`--gateways takes ID=HOST:PORT pairs; got "${entry}"`);
    gateways.push({ id: entry.slice(0, eq), address: entry.slice(eq + 1) });
  }
  const integer = (name: string, min: number, max: number): number | undefined => {
    const n = Number(values[name]);
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  };
  const pullCacheMb = integer('pull-cache-mb', 1, 1_000_000);
  if (pullCacheMb === undefined) return fail('--pull-cache-mb must be a whole number of MiB, at least 1');
  const accessCacheSeconds = integer('access-cache-seconds', 1, 3600);
  if (accessCacheSeconds === undefined) return fail('--access-cache-seconds must be 1–3600');
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = integer('workers', 1, 1024);
    if (workers === undefined) return fail('--workers must be 1–1024');
  }
  const spec: ClusterNginxSpec = {
    listen: values.listen as string,
    apis: listOf(values.apis as string | undefined),
    gateways,
    prefix,
    pullCacheMb,
    accessCacheSeconds,
    ...(workers === undefined ? {} : { workers }),
    ...(typeof values.user === 'string' ? { user: values.user } : {}),
  };
  let config: string;
  try {
    config = renderClusterNginxConfig(spec);
  } catch (err) {
    return fail((err as Error).message);
  }
  mkdirSync(prefix, { recursive: true });
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(prefix, dir), { recursive: true });
  for (const [name, text] of Object.entries(nginxSnippets())) writeFileSync(join(prefix, name), text);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, config);
  console.log(
    `wrote ${conf}; check and run it with:\n  nginx -t -p ${prefix} -c ${conf}\n  nginx -p ${prefix} -c ${conf}`,
  );
  return 0;
}
