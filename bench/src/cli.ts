/**
 * `npm run bench -- <scenario> [flags]`: the load generator. Starts each system under test on
 * loopback (roomcast and its peers Socket.IO, Nchan and a naive `ws` server, see systems.ts), drives
 * the scenario with forked client worker processes, measures it, stops the system, and goes on to
 * the next, all in one run.
 *
 * Scenarios (see scenarios/):
 *   huge-room   one room of --clients (10000) at --rates 1,10,50 events/s; --tail-rooms N
 *               --tail-clients M adds a Zipf tail (--zipf 1) of small rooms at 1 event/s each
 *   many-rooms  --rooms 1800 rooms sharing --clients 18000 (even, or --zipf-rooms), --rates 1 per room;
 *               --churn 200 makes 200 clients/s leave and join again while publishing (also huge-room)
 *   idle        --clients 18000 idle connections in --rooms 1000: server RSS per connection
 *   join-storm  --clients 10000 connect and join within --storm-seconds 10, then all reconnect
 *               within --reconnect-seconds 1
 *   pull        --pollers 2000 HTTP pollers every --poll-interval-ms 1000 on one room's events,
 *               roomcast directly and through nginx proxy_cache, --rates 1 events/s
 * Common flags: --systems roomcast,socketio,nchan,naive (the default; also roomcast-cluster: a whole
 *   `roomcast cluster` with --cluster-gateways 2 gateways and one API node on private engines;
 *   --cluster-dispatch: its clients connect to the gateway dispatch names for their room, as the
 *   SDK does, instead of round-robin over the gateways)
 *   --seconds 20 --warmup 2 --drain-timeout 120
 *   --text-chars 40 (event size)
 *   --workers 2 (client processes) --users 1000 (roomcast viewer users) --batch 200 --batch-pause-ms 10
 *   --socketio-nodes 1 (>1: Redis adapter on a private redis-server) --nchan-workers 1
 *   --quiet-percent 15 --quiet-timeout 60 --disturbed-percent 20 --retries 1
 * Output: Markdown on stdout and in bench/results/<scenario>-<stamp>.md, JSON in …json, chart in …svg.
 * `npm run bench -- --render <results.json> [--svg <out.svg>]` renders an earlier run again.
 *
 * The sizes default to what one process's open-files limit allows here (a server holds one
 * descriptor per client); when the limit is too low the harness says so and re-runs under prlimit.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { CliError, type CliOptions, parseCliOptions, scenarioSizes } from './cli-options.ts';
import { sleep } from './clock.ts';
import { createAgent } from './http-json.ts';
import { log } from './log.ts';
import { readSystemTrees } from './measure-window.ts';
import { ensureFdLimit, REPO_ROOT } from './options.ts';
import { tryReadProcStats } from './proc-stats.ts';
import { writeJson } from './report.ts';
import { CONNECTIONS_PER_ADDRESS } from './room-setup.ts';
import { renderScenarioMarkdown } from './scenario-report.ts';
import type { ScenarioResult, SystemRun } from './scenario-result.ts';
import { runDelivery } from './scenarios/delivery.ts';
import { runIdle } from './scenarios/idle.ts';
import { runJoinStorm } from './scenarios/join-storm.ts';
import { runPull } from './scenarios/pull.ts';
import type { ScenarioContext } from './scenarios/scenario-context.ts';
import { renderScenarioChart } from './svg-chart.ts';
import { type SystemName, startSystem } from './systems.ts';

const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
const MiB = 1024 * 1024;
/** Source addresses reserved per system of a run (see ConnectPlan.addressBase). */
const ADDRESSES_PER_SYSTEM = 8;
/** Runs take turns over this many blocks of source addresses (5 systems × 8 addresses each). */
const ADDRESS_BLOCKS = 6;
const ADDRESSES_PER_RUN = 40;

/**
 * The first source address of this run: consecutive runs use different blocks, so the previous
 * run's client ports, still in TIME_WAIT for a minute, do not exhaust this one's (a reconnect
 * storm of 10,000 needs 20,000 ports of one address). The turn is kept in bench/results.
 */
function runAddressBase(): number {
  const file = join(RESULTS_DIR, '.address-turn');
  let turn = 0;
  try {
    turn = (Number.parseInt(readFileSync(file, 'utf8'), 10) + 1) % ADDRESS_BLOCKS;
  } catch {
    // First run here.
  }
  if (!Number.isInteger(turn) || turn < 0) turn = 0;
  writeFileSync(file, String(turn));
  return 1 + turn * ADDRESSES_PER_RUN;
}

function scenarioRunner(options: CliOptions): (ctx: ScenarioContext) => Promise<void> {
  switch (options.scenario) {
    case 'huge-room':
    case 'many-rooms':
      return runDelivery;
    case 'idle':
      return runIdle;
    case 'join-storm':
      return runJoinStorm;
    case 'pull':
      return runPull;
  }
}

/** Starts `name`, runs the scenario on it, and stops it; failures end up in the run's `error`. */
async function runOnSystem(
  name: SystemName,
  index: number,
  options: CliOptions,
  logStem: string,
  addressBase: number,
): Promise<SystemRun> {
  const clients = scenarioSizes(options).reduce((sum, size) => sum + size, 0);
  const run: SystemRun = {
    system: name,
    label: name,
    startupSec: 0,
    logPaths: [],
    phases: [],
    disturbed: [],
    vmHwmMiB: 0,
    cpuSecTotal: 0,
  };
  log(`${name}: starting`);
  let system: Awaited<ReturnType<typeof startSystem>>;
  try {
    system = await startSystem(name, {
      repoRoot: REPO_ROOT,
      logStem,
      socketioNodes: options.socketioNodes,
      nchanWorkers: options.nchanWorkers,
      clusterGateways: options.clusterGateways,
      clusterDispatch: options.clusterDispatch,
      maxConnections: Math.max(clients, options.pollers) + 100,
    });
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
    log(`${name}: ${run.error}`);
    return run;
  }
  run.label = system.label;
  run.startupSec = system.startupSec;
  run.logPaths = system.logPaths.map((path) => relative(REPO_ROOT, path));
  log(
    `${name}: ${system.label} ready after ${system.startupSec.toFixed(1)} s (pids ${system.pids.join(', ')})`,
  );
  const agent = createAgent(64);
  try {
    await scenarioRunner(options)({
      options,
      system,
      agent,
      repoRoot: REPO_ROOT,
      logStem: `${logStem}-${name}`,
      addressBase: addressBase + index * ADDRESSES_PER_SYSTEM,
      run,
    });
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
    log(`${name}: ${run.error}`);
  } finally {
    try {
      if (system.notes !== undefined) run.notes = await system.notes(agent);
    } catch (error) {
      log(`${name}: notes failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      const tree = readSystemTrees(system.pids);
      run.cpuSecTotal = tree.cpuSec;
      run.vmHwmMiB = Math.max(run.vmHwmMiB, tree.hwmBytes / MiB);
      run.processes = tree.pids.flatMap((pid) => {
        const stats = tryReadProcStats(pid);
        if (stats === undefined) return [];
        const name = system.processNames?.get(pid) ?? processName(pid);
        return [{ pid, name, cpuSec: stats.cpuSec, vmHwmMiB: stats.hwmBytes / MiB }];
      });
    } catch {
      // A root process is gone: reported as systemExit.
    }
    const exit = system.exitStatus();
    if (exit !== undefined) run.systemExit = exit;
    agent.destroy();
    await system.stop();
  }
  return run;
}

/** The process's command name (/proc/<pid>/comm), e.g. `node` or `nginx`. */
function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The command line as the user would type it. */
/**
 * The open files the busiest process of the run needs: a client worker holds its share of the
 * clients, and a system's server processes (gateways, Socket.IO nodes, nginx workers) share them
 * too — only single-process systems hold every client in one process.
 */
function descriptorsPerProcess(options: CliOptions, clients: number): number {
  const serverProcesses = (system: SystemName): number => {
    switch (system) {
      case 'roomcast-cluster':
        return options.clusterGateways;
      case 'socketio':
        return options.socketioNodes;
      case 'nchan':
        return options.nchanWorkers;
      default:
        return 1;
    }
  };
  const perServer = Math.max(
    ...options.systems.map((system) => Math.ceil(clients / serverProcesses(system))),
  );
  return Math.max(perServer, Math.ceil(clients / options.workers), options.pollers);
}

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench -- ${args}`
    : `tsx bench/src/cli.ts ${args}`;
}

/** Writes the Markdown and the chart of `result` next to `jsonPath`; returns the Markdown. */
function writeOutputs(result: ScenarioResult, stem: string, svgPath?: string): string {
  const markdown = renderScenarioMarkdown(result);
  writeFileSync(`${stem}.md`, markdown);
  writeFileSync(svgPath ?? `${stem}.svg`, renderScenarioChart(result));
  return markdown;
}

function render(argv: string[]): void {
  const file = argv[argv.indexOf('--render') + 1];
  if (file === undefined) throw new CliError('--render needs a results JSON file');
  const svgIndex = argv.indexOf('--svg');
  const result = JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult;
  process.stdout.write(
    writeOutputs(result, file.replace(/\.json$/, ''), svgIndex >= 0 ? argv[svgIndex + 1] : undefined),
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.length === 0) {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    process.stdout.write(`${source.split('*/')[0]}*/\n`);
    return;
  }
  if (argv.includes('--render')) {
    render(argv);
    return;
  }
  const options = parseCliOptions(argv);
  const clients = scenarioSizes(options).reduce((sum, size) => sum + size, 0);
  const fdLimit = ensureFdLimit(descriptorsPerProcess(options, clients));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const stem = join(RESULTS_DIR, `${options.scenario}-${stamp}`);
  const { scenario, systems, ...rest } = options;
  const result: ScenarioResult = {
    scenario,
    command: commandLine(),
    argv,
    date: new Date().toISOString(),
    machine: {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: totalmem() / 1024 ** 3,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      fdLimit,
    },
    options: {
      systems,
      ...rest,
      sourceAddressesPerSystem: Math.max(1, Math.ceil(clients / CONNECTIONS_PER_ADDRESS)),
    },
    runs: [],
  };
  const addressBase = runAddressBase();
  for (const [index, name] of systems.entries()) {
    result.runs.push(await runOnSystem(name, index, options, stem, addressBase));
    writeJson(`${stem}.json`, result);
    // Let the previous system's sockets and processes go before the next one starts.
    await sleep(2_000);
  }
  const markdown = writeOutputs(result, stem);
  process.stdout.write(markdown);
  process.stdout.write(
    `\nJSON: ${relative(REPO_ROOT, stem)}.json, chart: ${relative(REPO_ROOT, stem)}.svg\n`,
  );
  if (result.runs.some((run) => run.error !== undefined)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  if (error instanceof CliError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
});
