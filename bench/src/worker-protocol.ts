/**
 * IPC messages between the orchestrator (fanout.ts, cli.ts) and its client worker processes
 * (ws-client-worker.ts), sent over the child_process.fork channel as JSON.
 */
import type { DialectName } from './client-dialect.ts';

/** Orchestrator → worker: open these connections and join the room. */
export interface ConnectCommand {
  type: 'connect';
  /** Full WebSocket URL without the token, e.g. ws://127.0.0.1:8080/v1/ws. */
  wsUrl: string;
  subprotocol: string;
  room: string;
  /** One token per connection of this worker. */
  tokens: string[];
  /** Source address per connection (same length as tokens). */
  localAddresses: string[];
  /** Connections opened concurrently per batch. */
  batchSize: number;
  /** Pause between batches (ms). */
  batchPauseMs: number;
  /** Give up on a connection that has not joined after this long (ms). */
  joinTimeoutMs: number;
  /** How to speak to the system (default `roomcast`). */
  dialect?: DialectName;
  /** Room per connection (same length as tokens); `room` for all when absent. */
  rooms?: string[];
  /** Base WebSocket URL per connection (several nodes); `wsUrl` for all when absent. */
  wsUrls?: string[];
  /**
   * Open loop: start batch k at k × batchPauseMs after the start, whether or not earlier batches
   * finished (a join storm). Default: closed loop, each batch waits for the previous one.
   */
  openLoop?: boolean;
}

/** Orchestrator → worker: drop every connection at once and reconnect them all (a reconnect storm). */
export interface ReconnectCommand {
  type: 'reconnect';
  batchSize: number;
  batchPauseMs: number;
}

/** Orchestrator → worker: a measured phase begins now (resets the frame/byte/loop-delay counters). */
export interface MarkCommand {
  type: 'mark';
  phase: number;
}

/** Orchestrator → worker: how many distinct events of each phase have arrived so far? */
export interface ProgressCommand {
  type: 'progress';
}

/** Orchestrator → worker: report the phase's statistics. */
export interface StatsCommand {
  type: 'stats';
  phase: number;
  /** Events the orchestrator published successfully in this phase: what each joined client should get. */
  expectedPerClient: number;
  /** Per room instead of expectedPerClient, when the phase published to several rooms. */
  expectedByRoom?: Record<string, number>;
}

/**
 * Orchestrator → worker: join/leave churn. Every 100 ms, leave and join again `perSecond`/10 random
 * joined clients (roomcast resumes with its cursor; Socket.IO joins afresh; Nchan resubscribes on a
 * new socket). 0 stops it.
 */
export interface ChurnCommand {
  type: 'churn';
  perSecond: number;
}

/** Orchestrator → worker: close all connections and exit. */
export interface CloseCommand {
  type: 'close';
}

/** Orchestrator → poll worker: start `pollers` HTTP pollers on one room's events endpoint. */
export interface PollStartCommand {
  type: 'poll-start';
  /** The events endpoint without query, e.g. http://127.0.0.1:8080/v1/rooms/R/events. */
  url: string;
  token: string;
  pollers: number;
  intervalMs: number;
  /** Only events with `data.m` equal to this window count for freshness. */
  window: number;
}

/** Orchestrator → poll worker: stop polling and report. */
export interface PollStopCommand {
  type: 'poll-stop';
}

export type WorkerCommand =
  | ConnectCommand
  | PollStartCommand
  | PollStopCommand
  | ReconnectCommand
  | ChurnCommand
  | MarkCommand
  | ProgressCommand
  | StatsCommand
  | CloseCommand;

/** Worker → orchestrator: the process is up and listening for commands. */
export interface ReadyReport {
  type: 'ready';
}

/** Worker → orchestrator: all connection attempts finished. */
export interface ConnectedReport {
  type: 'connected';
  attempted: number;
  joined: number;
  failed: number;
  /** Up to a few distinct failure reasons with counts. */
  failures: Record<string, number>;
  elapsedMs: number;
  /** From the first connection attempt until the last successful join (ms). */
  lastJoinMs: number;
  /** Per successful connection: attempt → joined, µs, HDR histogram as compressed base64. */
  joinLatency: string;
}

/** Worker → orchestrator: distinct deliveries per phase so far. */
export interface ProgressReport {
  type: 'progress';
  distinctByPhase: Record<string, number>;
}

/** Worker → orchestrator: one phase's statistics for this worker's clients. */
export interface StatsReport {
  type: 'stats';
  phase: number;
  /** Clients still joined (open connection, joined, not kicked). */
  joinedClients: number;
  /** Joined clients per room. */
  joinedByRoom: Record<string, number>;
  /** Distinct deliveries this worker's joined clients should have got (from expectedPerClient/ByRoom). */
  expected: number;
  /** Event deliveries of this phase, duplicates included. */
  deliveries: number;
  /** Distinct (client, seq) deliveries of this phase. */
  distinct: number;
  /** Deliveries of a seq the client had already seen. */
  duplicates: number;
  /** Deliveries of a seq lower than the client's highest seq seen so far. */
  outOfOrder: number;
  /** Joined clients that got fewer than expectedPerClient distinct events of this phase. */
  clientsMissing: number;
  /** Smallest distinct count of this phase over joined clients. */
  minPerClient: number;
  /** Latency histogram (µs) of distinct deliveries of this phase, compressed base64. */
  histogram: string;
  /** Since the mark: WebSocket messages received, their bytes, and events in them. */
  frames: number;
  bytes: number;
  /** bytes plus WebSocket frame headers: what the server wrote per message, TCP/IP headers aside. */
  wireBytes: number;
  eventsInFrames: number;
  /** Since the mark: events that were not published by the benchmark (service events). */
  otherEvents: number;
  /** Since the mark: sum of `dropped` fields of ts frames (events the server sampled away). */
  droppedByServer: number;
  /** Since the mark: `error` ops by code, `reconnect` ops, and closes of joined connections by code. */
  errorOps: Record<string, number>;
  reconnectOps: number;
  closes: Record<string, number>;
  /** Since the mark: churn leave → joined again, completed and failed, and the rejoin time (µs, base64). */
  churns: number;
  churnFailures: number;
  churnLatency: string;
  /** Since the mark: event-loop delay of the worker (ms). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Poll worker → orchestrator: the pollers are running. */
export interface PollStartedReport {
  type: 'poll-started';
}

/** Poll worker → orchestrator: what its pollers saw between start and stop. */
export interface PollReport {
  type: 'poll';
  requests: number;
  /** HTTP status (or `network error <code>`) → count. */
  statuses: Record<string, number>;
  /** Distinct (poller, event) receipts of the window's events. */
  received: number;
  /** Publish send → poll response received, µs, compressed base64. */
  lag: string;
  /** Seconds between start and stop. */
  seconds: number;
}

export type WorkerReport =
  | ReadyReport
  | ConnectedReport
  | ProgressReport
  | StatsReport
  | PollStartedReport
  | PollReport;

/** The `data` object the benchmark publishes: text, send time (µs, monotonic) and phase. */
export interface BenchEventData {
  text: string;
  /** Send timestamp, `nowMicros()` of the publisher just before the HTTP request. */
  t: number;
  /** Publish window this event belongs to (the orchestrator knows which windows are warm-up). */
  m: number;
}
