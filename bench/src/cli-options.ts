/**
 * Command line of `npm run bench -- <scenario> [flags]` (documented in cli.ts), parsed into
 * options with per-scenario defaults. Throws CliError on bad input, so it can be unit-tested.
 */
import { parseArgs } from 'node:util';
import { evenSizes, hugeRoomWithTail, zipfSizes } from './room-plan.ts';
import { SCENARIO_NAMES, type ScenarioName } from './scenario-result.ts';
import { DEFAULT_SYSTEMS, SYSTEM_NAMES, type SystemName } from './systems.ts';

/** A bad command line. */
export class CliError extends Error {}

/** Parsed command line. */
export interface CliOptions {
  scenario: ScenarioName;
  systems: SystemName[];
  /** Clients in the scenario's rooms (huge-room: of the huge room). */
  clients: number;
  /** Rooms (many-rooms, idle); huge-room's tail rooms go in tailRooms. */
  rooms: number;
  tailRooms: number;
  tailClients: number;
  /** Zipf exponent of the tail (and of many-rooms with --zipf). */
  zipf: number;
  /** many-rooms: Zipf sizes instead of equal rooms. */
  zipfRooms: boolean;
  rates: number[];
  seconds: number;
  warmupSeconds: number;
  /** Longest wait for the last deliveries of a window (an overloaded system drains slowly). */
  drainTimeoutSec: number;
  /** Join/leave churn during delivery windows: leave and join again per second over all clients. */
  churnPerSec: number;
  /** Characters of each event's text (event size). */
  textChars: number;
  workers: number;
  users: number;
  batchSize: number;
  batchPauseMs: number;
  /** join-storm: all clients start connecting within this many seconds… */
  stormSeconds: number;
  /** …and after all joined, everyone is dropped and reconnects within this many seconds. */
  reconnectSeconds: number;
  idleSeconds: number;
  pollers: number;
  pollIntervalMs: number;
  socketioNodes: number;
  clusterGateways: number;
  /** roomcast-cluster: clients connect where dispatch names each room's gateway, as the SDK does. */
  clusterDispatch: boolean;
  nchanWorkers: number;
  quietPercent: number;
  quietTimeoutSec: number;
  disturbedPercent: number;
  retries: number;
}

/** Per-scenario defaults: the sizes the issue asks for, where one process's 20,000 open files allow. */
const DEFAULTS: Record<ScenarioName, Partial<CliOptions>> = {
  'huge-room': { clients: 10_000, rooms: 1, rates: [1, 10, 50] },
  'many-rooms': { clients: 18_000, rooms: 1_800, rates: [1] },
  idle: { clients: 18_000, rooms: 1_000, rates: [] },
  'join-storm': { clients: 10_000, rooms: 1, rates: [] },
  pull: { clients: 0, rooms: 1, rates: [1], systems: ['roomcast'] },
};

function number(name: string, text: string, { integer = true, min = 1 } = {}): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new CliError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got '${text}'`);
  }
  return value;
}

/** Parses `argv` (without node and the script). */
export function parseCliOptions(argv: string[]): CliOptions {
  try {
    return parseValidated(argv);
  } catch (error) {
    // node:util parseArgs throws TypeErrors for unknown or malformed flags.
    if (error instanceof CliError) throw error;
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

function parseValidated(argv: string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      systems: { type: 'string' },
      clients: { type: 'string' },
      rooms: { type: 'string' },
      'tail-rooms': { type: 'string', default: '0' },
      'tail-clients': { type: 'string', default: '0' },
      zipf: { type: 'string', default: '1' },
      'zipf-rooms': { type: 'boolean', default: false },
      rates: { type: 'string' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '2' },
      'drain-timeout': { type: 'string', default: '120' },
      churn: { type: 'string', default: '0' },
      'text-chars': { type: 'string', default: '40' },
      workers: { type: 'string', default: '2' },
      users: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '200' },
      'batch-pause-ms': { type: 'string', default: '10' },
      'storm-seconds': { type: 'string', default: '10' },
      'reconnect-seconds': { type: 'string', default: '1' },
      'idle-seconds': { type: 'string', default: '10' },
      pollers: { type: 'string', default: '2000' },
      'poll-interval-ms': { type: 'string', default: '1000' },
      'socketio-nodes': { type: 'string', default: '1' },
      'cluster-gateways': { type: 'string', default: '2' },
      'cluster-dispatch': { type: 'boolean', default: false },
      'nchan-workers': { type: 'string', default: '1' },
      'quiet-percent': { type: 'string', default: '15' },
      'quiet-timeout': { type: 'string', default: '60' },
      'disturbed-percent': { type: 'string', default: '20' },
      retries: { type: 'string', default: '1' },
    },
  });
  const scenario = positionals[0];
  if (!SCENARIO_NAMES.includes(scenario as ScenarioName)) {
    throw new CliError(
      `first argument must be a scenario: ${SCENARIO_NAMES.join(', ')} (got '${scenario ?? ''}')`,
    );
  }
  const name = scenario as ScenarioName;
  const defaults = DEFAULTS[name];
  const systems = (values.systems?.split(',') ?? defaults.systems ?? [...DEFAULT_SYSTEMS]).map((system) =>
    system.trim(),
  );
  for (const system of systems) {
    if (!SYSTEM_NAMES.includes(system as SystemName)) {
      throw new CliError(`unknown system '${system}' (${SYSTEM_NAMES.join(', ')})`);
    }
  }
  if (name === 'pull' && systems.some((system) => system !== 'roomcast')) {
    throw new CliError(
      "pull measures roomcast's pull endpoint (directly and through nginx): --systems roomcast",
    );
  }
  const rates =
    values.rates === undefined
      ? (defaults.rates ?? [1])
      : values.rates.split(',').map((rate) => number('rates', rate, { integer: false, min: 0.001 }));
  return {
    scenario: name,
    systems: systems as SystemName[],
    clients: values.clients === undefined ? (defaults.clients ?? 0) : number('clients', values.clients),
    rooms: values.rooms === undefined ? (defaults.rooms ?? 1) : number('rooms', values.rooms),
    tailRooms: number('tail-rooms', values['tail-rooms'], { min: 0 }),
    tailClients: number('tail-clients', values['tail-clients'], { min: 0 }),
    zipf: number('zipf', values.zipf, { integer: false, min: 0 }),
    zipfRooms: values['zipf-rooms'],
    rates,
    seconds: number('seconds', values.seconds, { integer: false, min: 0.1 }),
    warmupSeconds: number('warmup', values.warmup, { integer: false, min: 0 }),
    drainTimeoutSec: number('drain-timeout', values['drain-timeout'], { integer: false, min: 1 }),
    churnPerSec: number('churn', values.churn, { integer: false, min: 0 }),
    textChars: number('text-chars', values['text-chars']),
    workers: number('workers', values.workers),
    users: number('users', values.users),
    batchSize: number('batch', values.batch),
    batchPauseMs: number('batch-pause-ms', values['batch-pause-ms'], { min: 0 }),
    stormSeconds: number('storm-seconds', values['storm-seconds'], { integer: false, min: 0 }),
    reconnectSeconds: number('reconnect-seconds', values['reconnect-seconds'], { integer: false, min: 0 }),
    idleSeconds: number('idle-seconds', values['idle-seconds'], { integer: false, min: 0 }),
    pollers: number('pollers', values.pollers),
    pollIntervalMs: number('poll-interval-ms', values['poll-interval-ms']),
    socketioNodes: number('socketio-nodes', values['socketio-nodes']),
    clusterGateways: number('cluster-gateways', values['cluster-gateways']),
    clusterDispatch: values['cluster-dispatch'],
    nchanWorkers: number('nchan-workers', values['nchan-workers']),
    quietPercent: number('quiet-percent', values['quiet-percent'], { integer: false }),
    quietTimeoutSec: number('quiet-timeout', values['quiet-timeout'], { min: 0 }),
    disturbedPercent: number('disturbed-percent', values['disturbed-percent'], { integer: false }),
    retries: number('retries', values.retries, { min: 0 }),
  };
}

/** The room sizes of the scenario: member count per room, largest first. */
export function scenarioSizes(options: CliOptions): number[] {
  switch (options.scenario) {
    case 'huge-room':
      return hugeRoomWithTail(options.clients, options.tailRooms, options.tailClients, options.zipf);
    case 'join-storm':
      return [options.clients];
    case 'many-rooms':
    case 'idle':
      return options.zipfRooms
        ? zipfSizes(options.clients, options.rooms, options.zipf)
        : evenSizes(options.clients, options.rooms);
    case 'pull':
      return [];
  }
}
