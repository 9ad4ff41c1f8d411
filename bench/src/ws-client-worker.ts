/**
 * A client worker process: holds a share of the benchmark's WebSocket viewers, joins them to the
 * room, and for every received event records delivery (by seq: duplicates, out-of-order) and
 * latency (receive time − the publisher's send timestamp `data.t`, both `nowMicros()`).
 *
 * Started by fanout.ts with child_process.fork; driven by the commands of worker-protocol.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import WebSocket, { type RawData } from 'ws';
import { nowMicros, sleep } from './clock.ts';
import { createLatencyHistogram, encodeHistogram } from './histogram.ts';
import type { ConnectCommand, StatsReport, WorkerCommand, WorkerReport } from './worker-protocol.ts';

/** One viewer connection. */
interface Client {
  index: number;
  ws: WebSocket | undefined;
  joined: boolean;
  /** Bit set of seqs received. */
  seen: Uint8Array;
  /** Highest seq received. */
  maxSeq: number;
}

/** Per publish window (phase) counters. */
interface PhaseStats {
  deliveries: number;
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  histogram: Histogram;
  /** Distinct events of this phase per client index. */
  perClient: Uint32Array;
}

/** Counters since the last `mark`. */
interface WindowCounters {
  frames: number;
  bytes: number;
  eventsInFrames: number;
  otherEvents: number;
  droppedByServer: number;
  errorOps: Record<string, number>;
  reconnectOps: number;
  closes: Record<string, number>;
}

const clients: Client[] = [];
const phases = new Map<number, PhaseStats>();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let counters = emptyCounters();

function emptyCounters(): WindowCounters {
  return {
    frames: 0,
    bytes: 0,
    eventsInFrames: 0,
    otherEvents: 0,
    droppedByServer: 0,
    errorOps: {},
    reconnectOps: 0,
    closes: {},
  };
}

function send(report: WorkerReport): void {
  process.send?.(report);
}

function increment(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function phaseStats(phase: number): PhaseStats {
  let stats = phases.get(phase);
  if (stats === undefined) {
    stats = {
      deliveries: 0,
      distinct: 0,
      duplicates: 0,
      outOfOrder: 0,
      histogram: createLatencyHistogram(),
      perClient: new Uint32Array(clients.length),
    };
    phases.set(phase, stats);
  }
  return stats;
}

/** Marks `seq` as seen for the client; returns true when it had been seen before. */
function markSeen(client: Client, seq: number): boolean {
  const byte = seq >>> 3;
  if (byte >= client.seen.length) {
    const grown = new Uint8Array(Math.max(byte + 1, client.seen.length * 2));
    grown.set(client.seen);
    client.seen = grown;
  }
  const bit = 1 << (seq & 7);
  const current = client.seen[byte] ?? 0;
  if ((current & bit) !== 0) return true;
  client.seen[byte] = current | bit;
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Handles one `ts` frame's events for a client, all received at `receivedAt` (µs). */
function onEvents(client: Client, events: unknown[], receivedAt: number): void {
  for (const event of events) {
    counters.eventsInFrames++;
    if (!isRecord(event) || typeof event.seq !== 'number') continue;
    const data = event.data;
    const seq = event.seq;
    if (!isRecord(data) || typeof data.t !== 'number' || typeof data.m !== 'number') {
      counters.otherEvents++;
      // Service events still count for ordering.
      if (seq > client.maxSeq) client.maxSeq = seq;
      continue;
    }
    const stats = phaseStats(data.m);
    stats.deliveries++;
    if (seq < client.maxSeq) stats.outOfOrder++;
    else client.maxSeq = seq;
    if (markSeen(client, seq)) {
      stats.duplicates++;
      continue;
    }
    stats.distinct++;
    stats.perClient[client.index] = (stats.perClient[client.index] ?? 0) + 1;
    stats.histogram.recordValue(Math.max(0, receivedAt - data.t));
  }
}

/** Opens one connection and resolves once it joined the room or failed (with the reason). */
function connectOne(
  client: Client,
  command: ConnectCommand,
  token: string,
  localAddress: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (failure: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(failure);
    };
    const ws = new WebSocket(`${command.wsUrl}?token=${encodeURIComponent(token)}`, command.subprotocol, {
      perMessageDeflate: false,
      localAddress,
      handshakeTimeout: command.joinTimeoutMs,
    });
    client.ws = ws;
    const timer = setTimeout(() => {
      settle('join timeout');
      ws.terminate();
    }, command.joinTimeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'join', room: command.room })));
    ws.on('unexpected-response', (_request, response) => {
      settle(`HTTP ${response.statusCode ?? '?'}`);
      ws.terminate();
    });
    ws.on('error', (error: Error & { code?: string }) => settle(`error ${error.code ?? error.message}`));
    ws.on('close', (code: number) => {
      if (client.joined) {
        client.joined = false;
        increment(counters.closes, String(code));
      }
      settle(`closed ${code}`);
    });
    ws.on('message', (raw: RawData) => {
      const receivedAt = nowMicros();
      const text = raw.toString();
      counters.frames++;
      counters.bytes += Buffer.isBuffer(raw) ? raw.length : Buffer.byteLength(text);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        increment(counters.errorOps, 'unparseable frame');
        return;
      }
      if (!isRecord(frame)) return;
      switch (frame.op) {
        case 'ts':
          if (Array.isArray(frame.events)) onEvents(client, frame.events, receivedAt);
          if (typeof frame.dropped === 'number') counters.droppedByServer += frame.dropped;
          break;
        case 'joined':
          client.joined = true;
          settle(undefined);
          break;
        case 'error':
          increment(counters.errorOps, String(frame.code));
          if (!client.joined) settle(`error op ${String(frame.code)}`);
          break;
        case 'reconnect':
          counters.reconnectOps++;
          break;
        case 'left':
          if (client.joined) increment(counters.closes, `left ${String(frame.reason ?? '')}`);
          client.joined = false;
          break;
        default:
          break;
      }
    });
  });
}

/** Opens all connections in batches of `batchSize`, pausing between batches. */
async function connectAll(command: ConnectCommand): Promise<void> {
  const started = Date.now();
  const first = clients.length;
  for (let i = 0; i < command.tokens.length; i++) {
    clients.push({ index: first + i, ws: undefined, joined: false, seen: new Uint8Array(256), maxSeq: 0 });
  }
  const failures: Record<string, number> = {};
  let failed = 0;
  for (let start = 0; start < command.tokens.length; start += command.batchSize) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(start + command.batchSize, command.tokens.length); i++) {
      const client = clients[first + i];
      const token = command.tokens[i];
      if (client === undefined || token === undefined) continue;
      const localAddress = command.localAddresses[i] ?? '127.0.0.1';
      batch.push(
        connectOne(client, command, token, localAddress).then((failure) => {
          if (failure === undefined) return;
          failed++;
          increment(failures, failure);
        }),
      );
    }
    await Promise.all(batch);
    if (command.batchPauseMs > 0) await sleep(command.batchPauseMs);
  }
  send({
    type: 'connected',
    attempted: command.tokens.length,
    joined: clients.filter((client) => client.joined).length,
    failed,
    failures,
    elapsedMs: Date.now() - started,
  });
}

function statsReport(phase: number, expectedPerClient: number): StatsReport {
  const stats = phaseStats(phase);
  let clientsMissing = 0;
  let minPerClient = Number.POSITIVE_INFINITY;
  let joinedClients = 0;
  for (const client of clients) {
    if (!client.joined) continue;
    joinedClients++;
    const count = stats.perClient[client.index] ?? 0;
    if (count < expectedPerClient) clientsMissing++;
    minPerClient = Math.min(minPerClient, count);
  }
  const report: StatsReport = {
    type: 'stats',
    phase,
    joinedClients,
    deliveries: stats.deliveries,
    distinct: stats.distinct,
    duplicates: stats.duplicates,
    outOfOrder: stats.outOfOrder,
    clientsMissing,
    minPerClient: Number.isFinite(minPerClient) ? minPerClient : 0,
    histogram: encodeHistogram(stats.histogram),
    ...counters,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
  return report;
}

function onCommand(command: WorkerCommand): void {
  switch (command.type) {
    case 'connect':
      void connectAll(command);
      break;
    case 'mark':
      counters = emptyCounters();
      loopDelay.reset();
      break;
    case 'progress': {
      const distinctByPhase: Record<string, number> = {};
      for (const [phase, stats] of phases) distinctByPhase[String(phase)] = stats.distinct;
      send({ type: 'progress', distinctByPhase });
      break;
    }
    case 'stats':
      send(statsReport(command.phase, command.expectedPerClient));
      break;
    case 'close':
      for (const client of clients) client.ws?.terminate();
      process.disconnect?.();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
}

process.on('message', (message: unknown) => {
  if (isRecord(message) && typeof message.type === 'string') onCommand(message as unknown as WorkerCommand);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
