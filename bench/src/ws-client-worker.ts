/**
 * A client worker process: holds a share of the benchmark's WebSocket viewers, joins each to its
 * room, and for every received event records delivery (by seq: duplicates, out-of-order) and
 * latency (receive time − the publisher's send timestamp `data.t`, both `nowMicros()`).
 *
 * Speaks roomcast's protocol or a peer's (client-dialect.ts). Started by fanout.ts and cli.ts with
 * child_process.fork; driven by the commands of worker-protocol.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import WebSocket, { type RawData } from 'ws';
import {
  connectUrl,
  type DialectName,
  decodeMessage,
  frameHeaderBytes,
  framesOnOpen,
  joinedOnOpen,
  leaveFrame,
  rejoinFrame,
  subprotocolOf,
} from './client-dialect.ts';
import { nowMicros, sleep } from './clock.ts';
import { DeliveryTracker } from './delivery-tracker.ts';
import { createLatencyHistogram, encodeHistogram } from './histogram.ts';
import type {
  ConnectCommand,
  StatsCommand,
  StatsReport,
  WorkerCommand,
  WorkerReport,
} from './worker-protocol.ts';

/** One viewer connection. */
interface Client {
  index: number;
  room: string;
  token: string;
  localAddress: string;
  wsUrl: string;
  ws: WebSocket | undefined;
  joined: boolean;
  /** Bit set of seqs received. */
  seen: Uint8Array;
  /** Set while the client leaves and joins again (churn): the leave is not a loss of the client. */
  churningSince: number | undefined;
  /** Highest seq received. */
  maxSeq: number;
  /** Highest system order key received (Nchan's message ID), see DecodedMessage.orderKey. */
  maxOrderKey: number;
}

/** Counters since the last `mark`. */
interface WindowCounters {
  frames: number;
  bytes: number;
  wireBytes: number;
  eventsInFrames: number;
  otherEvents: number;
  droppedByServer: number;
  errorOps: Record<string, number>;
  reconnectOps: number;
  closes: Record<string, number>;
  churns: number;
  churnFailures: number;
}

const clients: Client[] = [];
/** Dialect and join timeout of the last connect command (a reconnect storm reuses them). */
let dialect: DialectName = 'roomcast';
let joinTimeoutMs = 30_000;
const tracker = new DeliveryTracker(() => clients.length);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let counters = emptyCounters();

function emptyCounters(): WindowCounters {
  return {
    frames: 0,
    bytes: 0,
    wireBytes: 0,
    eventsInFrames: 0,
    otherEvents: 0,
    droppedByServer: 0,
    errorOps: {},
    reconnectOps: 0,
    closes: {},
    churns: 0,
    churnFailures: 0,
  };
}

function send(report: WorkerReport): void {
  process.send?.(report);
}

function increment(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Handles one roomcast-shaped frame (decoded by the dialect) for a client. */
function onFrame(
  client: Client,
  frame: unknown,
  receivedAt: number,
  settle: (failure?: string) => void,
  orderKey?: number,
): void {
  if (!isRecord(frame)) return;
  switch (frame.op) {
    case 'ts':
      if (Array.isArray(frame.events)) {
        const counted = tracker.onEvents(client, frame.events, receivedAt, orderKey);
        counters.eventsInFrames += counted.events;
        counters.otherEvents += counted.otherEvents;
      }
      if (typeof frame.dropped === 'number') counters.droppedByServer += frame.dropped;
      break;
    case 'joined':
      client.joined = true;
      settle(undefined);
      if (client.churningSince !== undefined) churned(client, true);
      break;
    case 'error':
      increment(counters.errorOps, String(frame.code));
      if (!client.joined) settle(`error op ${String(frame.code)}`);
      break;
    case 'reconnect':
      counters.reconnectOps++;
      break;
    case 'left': {
      const rejoin = rejoinFrame(dialect, client.room, client.maxSeq);
      if (client.churningSince !== undefined && rejoin !== undefined) {
        client.ws?.send(rejoin);
        break;
      }
      if (client.joined) increment(counters.closes, `left ${String(frame.reason ?? '')}`);
      client.joined = false;
      break;
    }
    default:
      break;
  }
}

let churnLatency = createLatencyHistogram();
let churnTimer: NodeJS.Timeout | undefined;
let churnCarry = 0;

/** A churning client is back in its room (or failed to get back). */
function churned(client: Client, ok: boolean): void {
  if (client.churningSince === undefined) return;
  if (ok) {
    counters.churns++;
    churnLatency.recordValue(Math.max(0, nowMicros() - client.churningSince));
  } else counters.churnFailures++;
  client.churningSince = undefined;
}

/** Makes one random joined client leave and join again. */
function churnOne(): void {
  const client = clients[Math.floor(Math.random() * clients.length)];
  if (client === undefined || !client.joined || client.churningSince !== undefined) return;
  client.churningSince = nowMicros();
  const leave = leaveFrame(dialect, client.room);
  if (leave !== undefined) {
    client.ws?.send(leave);
    return;
  }
  // No leave in this dialect: drop the socket and subscribe again on a new one.
  const old = client.ws;
  client.ws = undefined;
  client.joined = false;
  old?.terminate();
  void connectOne(client, churnLatency).then((failure) => churned(client, failure === undefined));
}

/** Starts (or with 0 stops) join/leave churn at `perSecond` over this worker's clients. */
function setChurn(perSecond: number): void {
  clearInterval(churnTimer);
  churnTimer = undefined;
  churnCarry = 0;
  if (perSecond <= 0) return;
  churnTimer = setInterval(() => {
    churnCarry += perSecond / 10;
    for (; churnCarry >= 1; churnCarry--) churnOne();
  }, 100);
}

/**
 * Opens one connection and resolves once it joined its room or failed (with the reason). Records
 * connection attempt → joined (TCP and WebSocket handshakes plus the system's join) in `joinLatency`.
 */
function connectOne(client: Client, joinLatency: Histogram): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const startedAt = nowMicros();
    const settle = (failure?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure === undefined) joinLatency.recordValue(Math.max(0, nowMicros() - startedAt));
      resolve(failure);
    };
    const room = client.room;
    const ws = new WebSocket(connectUrl(dialect, client.wsUrl, room, client.token), subprotocolOf(dialect), {
      perMessageDeflate: false,
      localAddress: client.localAddress,
      handshakeTimeout: joinTimeoutMs,
    });
    client.ws = ws;
    const timer = setTimeout(() => {
      settle('join timeout');
      ws.terminate();
    }, joinTimeoutMs);
    ws.on('open', () => {
      for (const text of framesOnOpen(dialect, room)) ws.send(text);
      if (joinedOnOpen(dialect)) {
        client.joined = true;
        settle(undefined);
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      settle(`HTTP ${response.statusCode ?? '?'}`);
      ws.terminate();
    });
    ws.on('error', (error: Error & { code?: string }) => settle(`error ${error.code ?? error.message}`));
    ws.on('close', (code: number) => {
      if (client.ws !== ws) return; // An old socket of a client that reconnected since.
      if (client.joined) {
        client.joined = false;
        increment(counters.closes, String(code));
      }
      settle(`closed ${code}`);
    });
    ws.on('message', (raw: RawData) => {
      const receivedAt = nowMicros();
      const text = raw.toString();
      const length = Buffer.isBuffer(raw) ? raw.length : Buffer.byteLength(text);
      counters.frames++;
      counters.bytes += length;
      counters.wireBytes += length + frameHeaderBytes(length);
      const decoded = decodeMessage(dialect, text, room);
      for (const reply of decoded.replies) ws.send(reply);
      if (decoded.frame === undefined) {
        if (dialect !== 'socketio') increment(counters.errorOps, 'unparseable frame');
        return;
      }
      onFrame(client, decoded.frame, receivedAt, settle, decoded.orderKey);
    });
  });
}

/**
 * Connects `targets` in batches of `batchSize` with `batchPauseMs` between batches: closed loop
 * (each batch waits for the previous one) or open loop (batch k starts at k × pause).
 */
async function connectClients(
  targets: Client[],
  batchSize: number,
  batchPauseMs: number,
  openLoop: boolean,
): Promise<void> {
  const started = Date.now();
  const joinLatency = createLatencyHistogram();
  const failures: Record<string, number> = {};
  let failed = 0;
  let lastJoinMs = 0;
  const all: Promise<void>[] = [];
  for (let start = 0, batch = 0; start < targets.length; start += batchSize, batch++) {
    const pending: Promise<void>[] = [];
    if (openLoop) await sleep(Math.max(0, started + batch * batchPauseMs - Date.now()));
    for (const client of targets.slice(start, start + batchSize)) {
      pending.push(
        connectOne(client, joinLatency).then((failure) => {
          if (failure === undefined) {
            lastJoinMs = Date.now() - started;
            return;
          }
          failed++;
          increment(failures, failure);
        }),
      );
    }
    all.push(...pending);
    if (!openLoop) {
      await Promise.all(pending);
      if (batchPauseMs > 0) await sleep(batchPauseMs);
    }
  }
  await Promise.all(all);
  send({
    type: 'connected',
    attempted: targets.length,
    joined: targets.filter((client) => client.joined).length,
    failed,
    failures,
    elapsedMs: Date.now() - started,
    lastJoinMs,
    joinLatency: encodeHistogram(joinLatency),
  });
  joinLatency.destroy();
}

/** Creates this worker's clients from a connect command and connects them. */
async function connectAll(command: ConnectCommand): Promise<void> {
  dialect = command.dialect ?? 'roomcast';
  joinTimeoutMs = command.joinTimeoutMs;
  const first = clients.length;
  for (let i = 0; i < command.tokens.length; i++) {
    clients.push({
      index: first + i,
      room: command.rooms?.[i] ?? command.room,
      token: command.tokens[i] ?? '',
      localAddress: command.localAddresses[i] ?? '127.0.0.1',
      wsUrl: command.wsUrls?.[i] ?? command.wsUrl,
      ws: undefined,
      joined: false,
      churningSince: undefined,
      seen: new Uint8Array(256),
      maxSeq: 0,
      maxOrderKey: 0,
    });
  }
  await connectClients(
    clients.slice(first),
    command.batchSize,
    command.batchPauseMs,
    command.openLoop ?? false,
  );
}

/** A reconnect storm: terminate every connection at once, then reconnect all (open loop). */
async function reconnectAll(batchSize: number, batchPauseMs: number): Promise<void> {
  for (const client of clients) {
    const old = client.ws;
    client.ws = undefined;
    client.joined = false;
    old?.terminate();
  }
  await connectClients(clients, batchSize, batchPauseMs, true);
}

function statsReport(command: StatsCommand): StatsReport {
  const stats = tracker.phase(command.phase);
  let clientsMissing = 0;
  let minPerClient = Number.POSITIVE_INFINITY;
  let joinedClients = 0;
  let expected = 0;
  const joinedByRoom: Record<string, number> = {};
  for (const client of clients) {
    if (!client.joined) continue;
    joinedClients++;
    increment(joinedByRoom, client.room);
    const due = command.expectedByRoom?.[client.room] ?? command.expectedPerClient;
    expected += due;
    const count = stats.perClient[client.index] ?? 0;
    if (count < due) clientsMissing++;
    minPerClient = Math.min(minPerClient, count);
  }
  const report: StatsReport = {
    type: 'stats',
    phase: command.phase,
    joinedClients,
    joinedByRoom,
    expected,
    deliveries: stats.deliveries,
    distinct: stats.distinct,
    duplicates: stats.duplicates,
    outOfOrder: stats.outOfOrder,
    clientsMissing,
    minPerClient: Number.isFinite(minPerClient) ? minPerClient : 0,
    histogram: encodeHistogram(stats.histogram),
    ...counters,
    churnLatency: encodeHistogram(churnLatency),
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
    case 'reconnect':
      void reconnectAll(command.batchSize, command.batchPauseMs);
      break;
    case 'churn':
      setChurn(command.perSecond);
      break;
    case 'mark':
      counters = emptyCounters();
      churnLatency.destroy();
      churnLatency = createLatencyHistogram();
      loopDelay.reset();
      break;
    case 'progress': {
      const distinctByPhase: Record<string, number> = {};
      for (const [phase, stats] of tracker.phases) distinctByPhase[String(phase)] = stats.distinct;
      send({ type: 'progress', distinctByPhase });
      break;
    }
    case 'stats':
      send(statsReport(command));
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
