import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultWebRoot } from '../api/web-app.ts';
import { findBinary, freePort } from '../engines/engine-process.ts';
import { type ClusterEngine, clusterEngines, startClusterNginx } from './cluster-engines.ts';
import { CLUSTER_HELP, type ClusterOptions, parseClusterOptions } from './cluster-options.ts';
import { migrateConfigured } from './migrate-command.ts';
import { ProcessSupervisor } from './process-supervisor.ts';
import { DEFAULT_BACKOFF } from './restart-backoff.ts';
import { type RoleProcess, spawnRole } from './role-process.ts';

const REGIONS = 'us,eu,ap';
/** A role gets this long after SIGTERM (a gateway drains its clients, 10 s by default) before SIGKILL. */
const ROLE_STOP_DEADLINE_MS = 15_000;
const READY_TIMEOUT_MS = 60_000;
/** The prefix of the one machine-readable line: endpoints and every PID the command started. */
export const CLUSTER_JSON_PREFIX = 'roomcast-cluster-json ';

/** Why the cluster stops: a signal (exit 0) or something that died or failed (exit 1). */
type StopReason = { kind: 'signal' | 'failure'; text: string };

/** The ports of the roles: from --base-port, or free ones for --base-port 0. */
async function rolePorts(options: ClusterOptions): Promise<{
  apis: number[];
  gateways: number[];
  workers: number[];
  settler: number;
  ongoing: number;
  shardProxy: number;
  nginx: number | undefined;
}> {
  const range = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
  if (options.basePort === 0) {
    const take = (n: number) => Promise.all(Array.from({ length: n }, () => freePort()));
    return {
      apis: await take(options.apis),
      gateways: await take(options.gateways),
      workers: await take(options.workers),
      settler: await freePort(),
      ongoing: await freePort(),
      shardProxy: await freePort(),
      nginx: options.nginx ? await freePort() : undefined,
    };
  }
  const ports = {
    apis: range(options.apis, options.basePort),
    gateways: range(options.gateways, options.basePort + 100),
    workers: range(options.workers, options.basePort + 200),
    settler: options.basePort + 300,
    ongoing: options.basePort + 310,
    shardProxy: options.basePort + 320,
    nginx: options.nginx ? options.basePort + 400 : undefined,
  };
  const all = [...ports.apis, ...ports.gateways, ...ports.workers, ports.settler, ports.ongoing];
  if (options.replicas > 0) all.push(ports.shardProxy);
  if (ports.nginx !== undefined) all.push(ports.nginx);
  for (const port of all) {
    if (!(await portIsFree(port)))
      throw new Error(`port ${port} is in use: choose another --base-port (or --base-port 0 for free ports)`);
  }
  return ports;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * How long an engine's end waits before the supervisor acts on it: a Ctrl-C in the terminal reaches
 * the engines too, and our own SIGINT handler should get to stop everything first.
 */
const ENGINE_GRACE_MS = 1000;

/** One role of the cluster: name, port and settings stay; a restart gives it a new process. */
interface RoleSlot {
  readonly name: string;
  readonly role: RoleProcess['role'];
  readonly port: number;
  current: RoleProcess;
}

/** Waits for `step`, or less once `signal` aborts (then `step`'s outcome no longer matters). */
async function unlessAborted(step: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    step.catch(() => undefined);
    return;
  }
  let onAbort: () => void = () => undefined;
  const abort = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([step, abort]);
  } finally {
    // One listener per restart would add up over a long run (and Node warns past ten).
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * `roomcast cluster`: starts the engines, then the roles (the first API node alone, since it runs
 * the schema migrations, then the others), prints the endpoints, and supervises everything until
 * SIGINT/SIGTERM (exit 0): a process that dies is restarted with backoff on its port, settings and
 * data, a drained gateway is replaced at once (`ProcessSupervisor`). A process that ends while the
 * cluster starts, or any unexpected end with `--fail-fast`, stops everything instead (exit 1).
 * Either way it stops the roles (SIGTERM, then SIGKILL after a deadline), then the engines in
 * reverse order. Returns the exit code.
 */
export async function runLocalCluster(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseClusterOptions(argv);
  if (parsed === 'help') {
    console.log(CLUSTER_HELP);
    return 0;
  }
  if (typeof parsed === 'string') {
    console.error(`roomcast cluster: ${parsed}. Run \`roomcast cluster --help\`.`);
    return 2;
  }
  const options = parsed;
  const envSecret = env.ROOMCAST_JWT_SECRET;
  if (envSecret !== undefined && envSecret.length < 16) {
    console.error('roomcast cluster: ROOMCAST_JWT_SECRET must be at least 16 characters');
    return 2;
  }
  const secret = envSecret ?? randomBytes(24).toString('hex');
  const note = (line: string) => console.log(`roomcast cluster: ${line}`);
  const stamp = `${new Date()
    .toISOString()
    .replace(/\D/g, '')
    .slice(0, 14)}_${randomBytes(2).toString('hex')}`;
  const starters = clusterEngines({ postgres: options.postgres, stamp, note, replicas: options.replicas });
  // Fixed ports are checked before anything starts; free ones (--base-port 0) are picked once the
  // engines listen, so an engine on a free port of its own cannot take a role's.
  let ports: Awaited<ReturnType<typeof rolePorts>> | undefined;
  try {
    for (const starter of starters) starter.checkBinaries();
    if (options.nginx) findBinary('nginx', 'nginx');
    if (options.basePort !== 0) ports = await rolePorts(options);
  } catch (err) {
    console.error(`roomcast cluster: ${(err as Error).message}`);
    return 1;
  }

  const runDir = await mkdtemp(join(tmpdir(), 'roomcast-cluster-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir);
  const engines: ClusterEngine[] = [];
  const slots: RoleSlot[] = [];
  let reason: StopReason | undefined;
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const end = (why: StopReason) => {
    if (reason !== undefined) return;
    reason = why;
    wake();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (reason !== undefined) {
      // A second Ctrl-C: no more waiting for roles to drain.
      for (const slot of slots) slot.current.kill();
      return;
    }
    note(`${signal}: stopping`);
    end({ kind: 'signal', text: signal });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const state = () => ({ roles: slots.map((s) => s.current), engines });
  const supervisor = new ProcessSupervisor({
    backoff: DEFAULT_BACKOFF,
    log: note,
    onFatal: (proc, how) => {
      const output = proc.output?.();
      end({
        kind: 'failure',
        text:
          `${proc.label}: pid ${proc.pid()} exited unexpectedly (${how.how})` +
          (output === undefined ? '' : `; last output:\n${lastLines(output)}`),
      });
    },
    // The machine-readable line again: scripts take the last one for the current PIDs.
    onRestarted: () => printClusterJson(state()),
  });

  const baseEnv: NodeJS.ProcessEnv = {
    ...env,
    ROOMCAST_JWT_SECRET: secret,
    ROOMCAST_REGIONS: REGIONS,
    ROOMCAST_HOST: '127.0.0.1',
    ROOMCAST_LOG_PRETTY: 'false',
    ROOMCAST_LOG_LEVEL: env.ROOMCAST_LOG_LEVEL ?? 'info',
    // nginx asks the API whether each caller may read a room before it serves a shared copy.
    ...(options.nginx ? { ROOMCAST_PULL_SHARED_CACHE: 'true' } : {}),
  };
  const start = (
    name: string,
    role: RoleProcess['role'],
    port: number,
    extra: Record<string, string> = {},
  ) => {
    const settings = engines.reduce<Record<string, string>>((all, e) => Object.assign(all, e.settings), {});
    const roleEnv = { ...baseEnv, ...settings, ROOMCAST_PORT: String(port), ...extra };
    const spawn = () => spawnRole({ name, role, port, logDir, env: roleEnv });
    const slot: RoleSlot = { name, role, port, current: spawn() };
    slots.push(slot);
    supervisor.watch({
      label: `${name} (${role})`,
      pid: () => slot.current.pid,
      ended: async () => {
        const exit = await slot.current.exited;
        return { how: exit.how, clean: exit.code === 0 };
      },
      output: () => slot.current.output(),
      // A gateway exits 0 by itself only after an admin drain: it withdrew from dispatch first.
      replaceWhenClean: role === 'gateway',
      restart: async (signal) => {
        slot.current = spawn();
        await unlessAborted(slot.current.ready(READY_TIMEOUT_MS), signal);
      },
    });
    return slot.current;
  };
  const watchEngine = (engine: ClusterEngine) => {
    for (const server of engine.servers) {
      supervisor.watch({
        label: server.name,
        pid: () => server.pid(),
        ended: async () => ({ how: await server.ended(), clean: false }),
        restart: () => server.restart(),
        graceMs: ENGINE_GRACE_MS,
      });
    }
  };

  /** Waits for `step`, or returns early once a signal or a failure asked to stop. */
  const unlessStopped = async (step: Promise<unknown>) => {
    await Promise.race([step, woken]);
  };

  try {
    for (const starter of starters) {
      if (reason !== undefined) break;
      const engine = await starter.start();
      engines.push(engine);
      watchEngine(engine);
    }
    if (reason === undefined) {
      // The explicit step a deployment runs before rolling roles out (`roomcast migrate`).
      const settings = engines.reduce<Record<string, string>>((all, e) => Object.assign(all, e.settings), {});
      const migrated = await migrateConfigured({ ...baseEnv, ...settings }, note);
      if (migrated.kind !== 'done') end({ kind: 'failure', text: migrated.reason });
    }
    const rolesAt = ports ?? (await rolePorts(options));
    if (reason === undefined && options.replicas > 0) {
      // The collections' nutcrackers: every other role reaches Redis through them.
      const proxy = start('shard-proxy', 'shard-proxy', rolesAt.shardProxy, {
        ROOMCAST_DATA_DIR: join(runDir, 'shard-proxy'),
      });
      await unlessStopped(proxy.ready(READY_TIMEOUT_MS));
    }
    if (reason === undefined) {
      const first = start('api1', 'api', rolesAt.apis[0] as number);
      await unlessStopped(first.ready(READY_TIMEOUT_MS));
    }
    // The room jobs of the workers and the settler ask OngoingQuery for their share.
    const ongoingUrl = { ROOMCAST_ONGOING_URLS: `http://127.0.0.1:${rolesAt.ongoing}` };
    if (reason === undefined) {
      const rest = [
        start('ongoing', 'ongoing', rolesAt.ongoing),
        ...rolesAt.apis.slice(1).map((port, i) => start(`api${i + 2}`, 'api', port)),
        ...rolesAt.gateways.map((port, i) =>
          // One dispatch group per gateway: each room concentrates on one gateway until it is big.
          start(`gw${i + 1}`, 'gateway', port, {
            ROOMCAST_GATEWAY_ID: `gw${i + 1}`,
            ROOMCAST_GATEWAY_GROUP: `g${i + 1}`,
            // Behind nginx, dispatch names the gateway's path there.
            ...(rolesAt.nginx === undefined
              ? {}
              : { ROOMCAST_PUBLIC_URL: `http://127.0.0.1:${rolesAt.nginx}/gateways/gw${i + 1}` }),
          }),
        ),
        ...rolesAt.workers.map((port, i) =>
          start(rolesAt.workers.length === 1 ? 'worker' : `worker${i + 1}`, 'worker', port, ongoingUrl),
        ),
        start('settler', 'settler', rolesAt.settler, { ROOMCAST_LOG_LEVEL: 'info', ...ongoingUrl }),
      ];
      await unlessStopped(Promise.all(rest.map((r) => r.ready(READY_TIMEOUT_MS))));
    }
    if (reason === undefined && rolesAt.nginx !== undefined) {
      const engine = await startClusterNginx(rolesAt.nginx, rolesAt.apis, rolesAt.gateways);
      engines.push(engine);
      watchEngine(engine);
    }
  } catch (err) {
    end({ kind: 'failure', text: (err as Error).message });
  }

  if (reason === undefined) {
    // A process that cannot start would only crash again: restarts begin once everything is up.
    if (!options.failFast) supervisor.startRestarting();
    printEndpoints({ ...state(), secretFromEnv: envSecret !== undefined, secret, logDir });
    await woken;
  }
  const why = reason ?? { kind: 'failure', text: 'stopped' };
  if (why.kind === 'failure')
    console.error(`roomcast cluster: ${why.text}\nroomcast cluster: stopping everything`);
  // No restarts from here on; a restart in progress has spawned its process already, so it is stopped too.
  const supervised = supervisor.stop();
  await Promise.all(slots.map((slot) => slot.current.stop(ROLE_STOP_DEADLINE_MS)));
  // An engine restart in progress finishes first, so that `stop` below stops what it started.
  await supervised;
  for (const engine of engines.reverse()) {
    await engine.stop().catch((err: unknown) => {
      console.error(`roomcast cluster: stopping ${engine.name} failed: ${(err as Error).message}`);
    });
  }
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  if (why.kind === 'signal') {
    await rm(runDir, { recursive: true, force: true });
    note('stopped');
    return 0;
  }
  console.error(`roomcast cluster: the roles' logs are in ${logDir}`);
  return 1;
}

function lastLines(text: string, count = 15): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

function printEndpoints(run: {
  roles: readonly RoleProcess[];
  engines: readonly ClusterEngine[];
  secretFromEnv: boolean;
  secret: string;
  logDir: string;
}): void {
  const url = (r: RoleProcess) => `http://127.0.0.1:${r.port}`;
  const apis = run.roles.filter((r) => r.role === 'api');
  const gateways = run.roles.filter((r) => r.role === 'gateway');
  const workers = run.roles.filter((r) => r.role === 'worker');
  const settler = run.roles.find((r) => r.role === 'settler');
  const ongoing = run.roles.find((r) => r.role === 'ongoing');
  const shardProxy = run.roles.find((r) => r.role === 'shard-proxy');
  const api = apis[0] ? url(apis[0]) : '';
  const webBuilt = existsSync(join(defaultWebRoot(), 'index.html'));
  const lines = [
    '',
    `roomcast cluster ready — regions ${REGIONS.split(',').join(', ')}`,
    ...apis.map((r) => `  API         ${url(r)}   (${r.name}, pid ${r.pid}; /metrics, /healthz)`),
    ...gateways.map(
      (r) => `  gateway     ws://127.0.0.1:${r.port}/v1/ws   (${r.name}, pid ${r.pid}; ${url(r)}/metrics)`,
    ),
    ...workers.map((w) => `  worker      ${url(w)}/metrics   (${w.name}, pid ${w.pid})`),
    ...(settler ? [`  settler     ${url(settler)}/metrics   (pid ${settler.pid})`] : []),
    ...(ongoing
      ? [
          `  ongoing     ${url(ongoing)}/v1/ongoing   (OngoingQuery, pid ${ongoing.pid}; ${url(ongoing)}/metrics)`,
        ]
      : []),
    ...(shardProxy
      ? [`  shard-proxy ${url(shardProxy)}/metrics   (the collections' nutcrackers, pid ${shardProxy.pid})`]
      : []),
    ...run.engines.flatMap((e) => e.endpoints.map((line) => `  ${line}`)),
    '',
    `  web app     ${api}/  and the ops dashboard ${api}/ops (sign in by pasting a token; the page`,
    '              reaches its room over a gateway the dispatch endpoint names)' +
      (webBuilt ? '' : ' — build it first: npm run build:web'),
    `  logs        ${run.logDir}`,
    '',
    run.secretFromEnv
      ? 'JWT secret from ROOMCAST_JWT_SECRET. Mint a token (sub = <region>_<id>; --roles admin for admins):'
      : 'JWT secret generated for this run (set ROOMCAST_JWT_SECRET to choose it). Mint a token:',
    ...(run.secretFromEnv ? [] : [`  export ROOMCAST_JWT_SECRET=${run.secret}`]),
    `  TOKEN=$(${tokenCommand()} --user eu_alice)`,
    `  curl -s -XPOST ${api}/v1/rooms -H "authorization: Bearer $TOKEN" \\`,
    `    -H 'content-type: application/json' -d '{"title":"hello"}'`,
    '',
    'Ctrl-C stops everything this command started.',
  ];
  console.log(lines.join('\n'));
  printClusterJson(run);
}

/**
 * The machine-readable line: endpoints and every process the command runs, printed once ready and
 * again after each restart (the last one names the current PIDs).
 */
function printClusterJson(run: { roles: readonly RoleProcess[]; engines: readonly ClusterEngine[] }): void {
  const url = (r: RoleProcess) => `http://127.0.0.1:${r.port}`;
  const servers = run.engines.flatMap((e) => e.servers);
  const enginePids = servers.map((s) => s.pid()).filter((pid) => pid !== undefined);
  const worker = run.roles.find((r) => r.role === 'worker');
  const settler = run.roles.find((r) => r.role === 'settler');
  const ongoing = run.roles.find((r) => r.role === 'ongoing');
  const machine = {
    apis: run.roles.filter((r) => r.role === 'api').map(url),
    gateways: run.roles.filter((r) => r.role === 'gateway').map((r) => `ws://127.0.0.1:${r.port}/v1/ws`),
    worker: worker ? url(worker) : undefined,
    settler: settler ? url(settler) : undefined,
    ongoing: ongoing ? url(ongoing) : undefined,
    pids: [...run.roles.map((r) => r.pid), ...enginePids],
    roles: run.roles.map((r) => ({ name: r.name, role: r.role, pid: r.pid, port: r.port })),
    enginePids,
    engines: servers.map((s) => ({ name: s.name, pid: s.pid(), port: s.port, dir: s.dir })),
  };
  console.log(`${CLUSTER_JSON_PREFIX}${JSON.stringify(machine)}`);
}

/** How the user runs `roomcast token`: an installed package's bin, or the checkout's npm script. */
function tokenCommand(): string {
  return import.meta.url.includes('/node_modules/')
    ? 'npx roomcast token'
    : 'npm run --silent roomcast -- token';
}
