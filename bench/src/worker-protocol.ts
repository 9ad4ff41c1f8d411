/**
 * IPC messages between the orchestrator (fanout.ts) and its client worker processes
 * (ws-client-worker.ts), sent over the child_process.fork channel as JSON.
 */

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
}

/** Orchestrator → worker: close all connections and exit. */
export interface CloseCommand {
  type: 'close';
}

export type WorkerCommand = ConnectCommand | MarkCommand | ProgressCommand | StatsCommand | CloseCommand;

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
  eventsInFrames: number;
  /** Since the mark: events that were not published by the benchmark (service events). */
  otherEvents: number;
  /** Since the mark: sum of `dropped` fields of ts frames (events the server sampled away). */
  droppedByServer: number;
  /** Since the mark: `error` ops by code, `reconnect` ops, and closes of joined connections by code. */
  errorOps: Record<string, number>;
  reconnectOps: number;
  closes: Record<string, number>;
  /** Since the mark: event-loop delay of the worker (ms). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type WorkerReport = ReadyReport | ConnectedReport | ProgressReport | StatsReport;

/** The `data` object the benchmark publishes: text, send time (µs, monotonic) and phase. */
export interface BenchEventData {
  text: string;
  /** Send timestamp, `nowMicros()` of the publisher just before the HTTP request. */
  t: number;
  /** Publish window this event belongs to (the orchestrator knows which windows are warm-up). */
  m: number;
}
