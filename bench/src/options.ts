/**
 * Command line of the fan-out benchmark (flags are documented in fanout.ts) and the open-files
 * limit check that may re-execute the benchmark under prlimit.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFdLimit } from './proc-stats.ts';
import { type BenchResult, renderMarkdown } from './report.ts';
import type { ServerKind } from './servers.ts';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Set in the environment of a re-exec under prlimit, to avoid looping. */
const REEXEC_ENV = 'ROOMCAST_BENCH_PRLIMIT';

/** Parsed command line. */
export interface Options {
  clients: number;
  rates: number[];
  seconds: number;
  warmupSeconds: number;
  servers: ServerKind[];
  codec: 'json';
  workers: number;
  users: number;
  batchSize: number;
  batchPauseMs: number;
  /** Before each measured window wait until the machine is less busy than this (% of all cores)… */
  quietPercent: number;
  /** …but at most this long (s). */
  quietTimeoutSec: number;
  /** A window during which other processes used more than this (% of a core) is measured again… */
  disturbedPercent: number;
  /** …at most this many more times. */
  retries: number;
}

export function fail(message: string): never {
  process.stderr.write(`bench:fanout: ${message}\n`);
  process.exit(2);
}

function positive(name: string, text: string, integer = true): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  }
  return value;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '5000' },
      rates: { type: 'string', default: '1,50' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '2' },
      servers: { type: 'string', default: 'roomcast,naive' },
      codec: { type: 'string', default: 'json' },
      workers: { type: 'string', default: '2' },
      users: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '100' },
      'batch-pause-ms': { type: 'string', default: '20' },
      'quiet-percent': { type: 'string', default: '15' },
      'quiet-timeout': { type: 'string', default: '120' },
      'disturbed-percent': { type: 'string', default: '20' },
      retries: { type: 'string', default: '2' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.render !== undefined) {
    // Re-render an earlier results file (e.g. after a report format change) and exit.
    const result = JSON.parse(readFileSync(values.render, 'utf8')) as BenchResult;
    process.stdout.write(renderMarkdown(result));
    process.exit(0);
  }
  if (values.help) {
    process.stdout.write(
      `${readFileSync(fileURLToPath(new URL('./fanout.ts', import.meta.url)), 'utf8').split('*/')[0]}*/\n`,
    );
    process.exit(0);
  }
  const servers = values.servers.split(',').map((name) => name.trim());
  for (const server of servers) {
    if (server !== 'roomcast' && server !== 'naive') fail(`unknown server '${server}' (roomcast, naive)`);
  }
  if (values.codec !== 'json') fail(`--codec ${values.codec} is not supported yet: only json`);
  return {
    clients: positive('clients', values.clients),
    rates: values.rates.split(',').map((rate) => positive('rates', rate, false)),
    seconds: positive('seconds', values.seconds, false),
    warmupSeconds: Number(values.warmup) >= 0 ? Number(values.warmup) : fail('--warmup must be ≥ 0'),
    servers: servers as ServerKind[],
    codec: 'json',
    workers: positive('workers', values.workers),
    users: positive('users', values.users),
    batchSize: positive('batch', values.batch),
    batchPauseMs: Number(values['batch-pause-ms']),
    quietPercent: positive('quiet-percent', values['quiet-percent'], false),
    quietTimeoutSec: Number(values['quiet-timeout']),
    disturbedPercent: positive('disturbed-percent', values['disturbed-percent'], false),
    retries: Number(values.retries),
  };
}

/** The command line as the user would type it. */
export function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench:fanout')
    return `npm run bench:fanout${args ? ` -- ${args}` : ''}`;
  return `tsx ${relative(REPO_ROOT, process.argv[1] ?? 'bench/src/fanout.ts')}${args ? ` ${args}` : ''}`;
}

/**
 * Makes sure the open-files limit covers the run (the server child needs one descriptor per client,
 * the workers their share). Node has no setrlimit (it only raises its soft limit to the hard limit
 * at startup), so when the limit is too low this prints how to raise it and re-executes the
 * benchmark under `prlimit --nofile=…` when prlimit exists and is allowed to raise it.
 */
export function ensureFdLimit(clients: number): string {
  const needed = clients + 1024;
  const { soft, hard } = readFdLimit();
  const describe = `${soft}/${hard}`;
  if (soft >= needed) return describe;
  const target = Math.ceil(needed / 1024) * 1024;
  const hardTarget = hard >= target ? (Number.isFinite(hard) ? String(hard) : 'unlimited') : String(target);
  process.stderr.write(
    `bench: open-files limit ${soft} (hard ${hard}) is below the ${needed} this run needs: ` +
      `raise it with \`ulimit -n ${target}\` (a privileged user for a hard limit below that) or run under \`prlimit --nofile=${target}:${hardTarget} -- …\`.\n`,
  );
  const limit = `--nofile=${target}:${hardTarget}`;
  const allowed = spawnSync('prlimit', [limit, '--', 'true'], { stdio: 'ignore' }).status === 0;
  if (!allowed || process.env[REEXEC_ENV] === '1') {
    process.stderr.write(`bench: prlimit is missing or may not raise the limit here; giving up.\n`);
    process.exit(1);
  }
  process.stderr.write(`bench: re-running under prlimit ${limit}\n`);
  const result = spawnSync(
    'prlimit',
    [limit, '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, [REEXEC_ENV]: '1' },
    },
  );
  process.exit(result.status ?? 1);
}
