#!/usr/bin/env node
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { RoomcastConfig } from './config/config-schema.ts';
import { ConfigError, describeSettings, loadConfig } from './config/load-config.ts';
import { createLogger } from './observability/logger.ts';

const HELP = `roomcast — the interactive side of live streaming

Usage: roomcast <role> [flags]

Roles:
  dev       every role in one process on embedded stores (PGlite, in-process bus); what \`npm start\` runs.
            With --rooms.shards and --rooms.archive, rooms live in those PostgreSQL databases instead;
            with --ledger.shards, balances do
  gateway   holds client WebSocket connections (/v1/ws) and fans out room signals from the bus; serves
            /healthz, /readyz, /metrics and POST /v1/admin/gateways/:id/drain. SIGTERM drains
  api       the HTTP API (rooms, events, pull, state, peer sends, moderation, gifts); no WebSocket
  worker    periodic jobs: the room jobs on their share of OngoingQuery (online count, idle rooms,
            hot-window retention; needs --ongoing.urls), the gift outbox relay
  settler   settles ended rooms' gift totals into their hosts' balances; needs --ledger.shards,
            --rooms.shards and --rooms.archive (PostgreSQL); serves /healthz, /readyz, /metrics on
            --port. Run as many as you like, kill any
  ongoing   OngoingQuery: the live and recently ended rooms of every shard in memory (a periodic scan plus the rooms
            change feed), answering GET /v1/ongoing?index=I&count=N for admin and service tokens;
            needs --rooms.shards (PostgreSQL with wal_level=logical); see docs/operations.md
  shard-proxy
            the nutcracker instances in front of the collections shards, repointed at each shard's
            master when Redis Sentinel fails one over (--shard-proxy.sentinels HOST:PORT,…); see
            docs/redis.md
  cluster   a local cluster on loopback: starts PostgreSQL, Redis (2 shards behind nutcracker), NATS,
            ZooKeeper, memcached, then N gateways, M API nodes, workers, a settler and OngoingQuery,
            prints the endpoints, and supervises them: what dies is restarted, a drained gateway
            replaced; Ctrl-C stops it all. --gateways N --apis M [--workers W] [--postgres
            auto|machine|private] [--base-port P] [--nginx] [--replicas R] [--fail-fast]; see --help
  migrate   brings every configured PostgreSQL schema up to date (--rooms.shards, --rooms.archive,
            --ledger.shards), one line per schema; exit 1 naming what failed. \`cluster\` runs it first
  token     prints a token signed with ROOMCAST_JWT_SECRET: --user eu_alice [--roles admin] [--ttl 1h]
  feed-slots
            lists the rooms change feed's replication slots and their lag; --drop CONSUMER drops a
            retired consumer's slots
  nginx-config
            writes an nginx configuration for the cluster (API routed by room, gateways, the pull
            micro-cache): --apis HOST:PORT,… --prefix DIR [--gateways ID=HOST:PORT,…]; see --help
  help      this text; \`roomcast help settings\` lists every setting with its env var and flag
  version   print the version

Common flags:
  --port N           HTTP/WebSocket port (ROOMCAST_PORT; default 8080)
  --host ADDR        listen address (ROOMCAST_HOST; default 127.0.0.1)
  --data DIR         data directory (ROOMCAST_DATA; default .roomcast/)
  --config FILE      JSON config file (ROOMCAST_CONFIG)
  --log-level L      fatal|error|warn|info|debug|trace|silent
Any setting: --<path> VALUE, e.g. --gateway.batch-window-ms 10, or ROOMCAST_GATEWAY_BATCH_WINDOW_MS=10.

Cluster roles (gateway, api, worker) need real engines, any number of each process:
  --rooms.shards us=postgresql://…,eu=…,ap=…  --rooms.archive postgresql://…
  --ledger.shards postgresql://…/l0,postgresql://…/l1
  --collections.engine redis --collections.redis-url redis://NUTCRACKER:PORT
  --bus.engine nats --bus.url nats://HOST:4222   (or --bus.engine redis --bus.url redis://HOST:PORT)
  ROOMCAST_JWT_SECRET (or --jwt.jwks-url) for gateway and api; --gateway-id per gateway
Docs: README.md, docs/configuration.md, docs/protocol.md.`;

/** Roles whose flags are settings: `--help` / `-h` among them prints the help instead of starting. */
const SETTINGS_ROLES: ReadonlySet<string> = new Set([
  'dev',
  'gateway',
  'api',
  'worker',
  'settler',
  'migrate',
]);

async function main(argv: string[]): Promise<number> {
  const [role = 'help', ...rest] = argv;
  if (SETTINGS_ROLES.has(role) && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(HELP);
    return 0;
  }
  switch (role) {
    case 'help':
    case '--help':
    case '-h':
      if (rest[0] === 'settings') {
        for (const s of describeSettings()) console.log(`${s.path.padEnd(36)} ${s.env.padEnd(46)} ${s.flag}`);
      } else console.log(HELP);
      return 0;
    case 'version':
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      console.log(pkg.version);
      return 0;
    }
    case 'dev':
      return runDev(rest);
    case 'settler':
      return runSettler(rest);
    case 'ongoing':
      return runOngoing(rest);
    case 'shard-proxy':
      return runShardProxy(rest);
    case 'cluster':
      return (await import('./local-cluster/local-cluster.ts')).runLocalCluster(rest, process.env);
    case 'token':
      return (await import('./local-cluster/token-command.ts')).runTokenCommand(rest, process.env);
    case 'feed-slots':
      return (await import('./local-cluster/feed-slots-command.ts')).runFeedSlotsCommand(rest, process.env);
    case 'nginx-config':
      return (await import('./nginx/nginx-config-command.ts')).runNginxConfigCommand(rest);
    case 'migrate':
      return (await import('./local-cluster/migrate-command.ts')).runMigrateCommand(rest, process.env);
    case 'gateway':
      return runClusterRole('gateway', rest, async (config, logger) => {
        const { startGateway } = await import('./roles/gateway.ts');
        const gw = await startGateway(config, logger);
        logger.info(
          { gateway: gw.gateway.id, url: gw.url, ws: `${gw.url.replace(/^http/, 'ws')}/v1/ws` },
          'roomcast gateway listening',
        );
        return {
          // An admin drain ends the process once the clients have gone.
          done: gw.drained,
          stop: (signal) => gw.close({ drain: signal === 'SIGTERM' || signal === 'SIGINT' }),
        };
      });
    case 'api':
      return runClusterRole('api', rest, async (config, logger) => {
        const { startApi } = await import('./roles/api.ts');
        const api = await startApi(config, logger);
        logger.info({ url: api.url }, 'roomcast api listening');
        return { stop: () => api.close() };
      });
    case 'worker':
      return runClusterRole('worker', rest, async (config, logger) => {
        const { startWorker } = await import('./roles/worker.ts');
        const worker = await startWorker(config, logger);
        logger.info({ url: worker.url }, 'roomcast worker running');
        return { stop: () => worker.close() };
      });
    default:
      console.error(`roomcast: unknown role "${role}". Run \`roomcast help\`.`);
      return 2;
  }
}

/** The role's configuration, or undefined after printing why it is invalid. */
function configFor(argv: string[], roleDefaults: Record<string, unknown>): RoomcastConfig | undefined {
  try {
    return loadConfig({ argv, env: process.env, roleDefaults });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`roomcast: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

/** Resolves on the first SIGINT or SIGTERM, with its name. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/**
 * Runs a role whose work is timers (settler, ongoing) until SIGINT/SIGTERM: a configuration it
 * refuses (`isConfigError`) is exit code 2 with its message; `started` logs what it runs.
 */
async function runTimedRole<R extends { close(): Promise<void> }>(
  argv: string[],
  role: {
    start: (config: RoomcastConfig, logger: Logger) => Promise<R>;
    isConfigError: (err: unknown) => boolean;
    started: (running: R, config: RoomcastConfig, logger: Logger) => void;
  },
): Promise<number> {
  const config = configFor(argv, {});
  if (config === undefined) return 2;
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
  let running: R;
  try {
    running = await role.start(config, logger);
  } catch (err) {
    if (role.isConfigError(err)) {
      console.error(`roomcast: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
  role.started(running, config, logger);
  // The roles' timers are unref'ed (they also run inside `roomcast dev`): this keeps the process up.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping after the run in progress');
  clearInterval(keepAlive);
  await running.close();
  return 0;
}

async function runSettler(argv: string[]): Promise<number> {
  // Each role loads only its own modules: a settler has no use for the gateway or PGlite.
  const { SettlerConfigError, startSettler } = await import('./roles/settler.ts');
  return runTimedRole(argv, {
    start: startSettler,
    isConfigError: (err) => err instanceof SettlerConfigError,
    started: (running, config, logger) =>
      logger.info(
        { url: running.url, shards: config.ledger.shards.length, intervalMs: config.settler.intervalMs },
        'roomcast settler started',
      ),
  });
}

async function runOngoing(argv: string[]): Promise<number> {
  const { OngoingConfigError, startOngoing } = await import('./roles/ongoing.ts');
  return runTimedRole(argv, {
    start: startOngoing,
    isConfigError: (err) => err instanceof OngoingConfigError,
    started: (running, config, logger) =>
      logger.info(
        { url: running.url, rooms: running.query.size, consumer: config.ongoing.consumer },
        'roomcast ongoing started',
      ),
  });
}

async function runShardProxy(argv: string[]): Promise<number> {
  const { ShardProxyConfigError, startShardProxy } = await import('./roles/shard-proxy.ts');
  return runTimedRole(argv, {
    start: startShardProxy,
    isConfigError: (err) => err instanceof ShardProxyConfigError,
    started: (running, config, logger) =>
      logger.info({ url: running.url, listen: config.shardProxy.listen }, 'roomcast shard-proxy started'),
  });
}

/** A started cluster role: how to stop it, and optionally a promise that ends it by itself. */
interface StartedRole {
  done?: Promise<void>;
  stop(signal: string): Promise<void>;
}

/**
 * Runs a cluster role until SIGINT/SIGTERM (or until it ends by itself): a configuration it cannot
 * run with stops it at once with exit code 2 and a message naming the setting.
 */
async function runClusterRole(
  role: string,
  argv: string[],
  start: (config: RoomcastConfig, logger: Logger) => Promise<StartedRole>,
): Promise<number> {
  const config = configFor(argv, {});
  if (config === undefined) return 2;
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty }).child({ role });
  const { RoleConfigError } = await import('./roles/infrastructure.ts');
  let started: StartedRole;
  try {
    started = await start(config, logger);
  } catch (err) {
    if (err instanceof RoleConfigError) {
      console.error(`roomcast: ${err.message}`);
      return 2;
    }
    throw err;
  }
  // Timers of the jobs are unref'ed (they also run inside `roomcast dev`): this keeps the process up.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const reason = await Promise.race([
    untilSignal(),
    started.done?.then(() => 'drained') ?? new Promise<string>(() => {}),
  ]);
  logger.info({ reason }, 'stopping');
  try {
    await started.stop(reason);
  } finally {
    clearInterval(keepAlive);
  }
  return 0;
}

async function runDev(argv: string[]): Promise<number> {
  const config = configFor(argv, { devMode: true });
  if (config === undefined) return 2;
  const unusable = unusableDataDir(config.dataDir);
  if (unusable !== undefined) {
    console.error(
      `roomcast: the data directory ${config.dataDir} cannot be used (--data, ROOMCAST_DATA): ${unusable}`,
    );
    return 2;
  }
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
  const { startDev } = await import('./roles/dev.ts');
  const server = await startDev(config, logger);
  logger.info(
    {
      url: server.url,
      ws: `${server.url.replace(/^http/, 'ws')}/v1/ws`,
      dataDir: config.dataDir,
      regions: config.regions,
    },
    `roomcast dev listening on ${server.url} — mint a token: curl -XPOST ${server.url}/v1/dev/tokens -H 'content-type: application/json' -d '{"user":"eu_alice"}'`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping: telling clients to reconnect');
      server.close({ drain: true }).then(resolve, (err: unknown) => {
        logger.error({ err }, 'stop failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** Why `dir` cannot hold roomcast dev's data (created when missing), or undefined when it can. */
function unusableDataDir(dir: string): string | undefined {
  try {
    makeDirectory(resolve(dir));
    accessSync(dir, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * mkdir -p one level at a time: Node's `mkdirSync(…, { recursive: true })` spins for ever on some
 * paths that cannot be made (`/proc/nope`) instead of failing.
 */
function makeDirectory(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    return;
  }
  const parent = dirname(dir);
  if (parent !== dir) makeDirectory(parent);
  mkdirSync(dir);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('roomcast: failed to start:', err instanceof Error ? err.message : err);
    // What was opened before the failure (a PGlite, pools, timers) would keep the process alive
    // doing nothing: a start that failed ends the process at once (EADDRINUSE, …).
    process.exit(1);
  },
);
