/**
 * The orchestrator's side of the client workers: forks them (`node --import tsx
 * ws-client-worker.ts`), sends commands and awaits their replies over the IPC channel.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { typeScriptNodeArgs } from '../../packages/server/src/runtime/node-command.ts';
import type {
  ConnectCommand,
  ConnectedReport,
  ProgressReport,
  StatsReport,
  WorkerCommand,
  WorkerReport,
} from './worker-protocol.ts';

const WORKER_PATH = fileURLToPath(new URL('./ws-client-worker.ts', import.meta.url));

type ReportOf<T extends WorkerReport['type']> = Extract<WorkerReport, { type: T }>;

/** One forked worker with per-report-type FIFO waiters. */
class WorkerHandle {
  private readonly waiters = new Map<string, Array<(report: WorkerReport) => void>>();
  private readonly failers = new Set<(error: Error) => void>();
  exited: string | undefined;

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: unknown) => {
      const report = message as WorkerReport;
      this.waiters.get(report.type)?.shift()?.(report);
    });
    child.once('exit', (code, signal) => {
      this.exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const error = new Error(`client worker ${child.pid} exited (${this.exited})`);
      for (const fail of this.failers) fail(error);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(command: WorkerCommand): void {
    if (this.exited === undefined) this.child.send(command);
  }

  /** Resolves with the next report of `type`. */
  next<T extends WorkerReport['type']>(type: T, timeoutMs: number): Promise<ReportOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.exited !== undefined) {
        reject(new Error(`client worker ${this.pid} exited (${this.exited})`));
        return;
      }
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      const timer = setTimeout(() => {
        this.failers.delete(fail);
        reject(new Error(`client worker ${this.pid}: no '${type}' report within ${timeoutMs} ms`));
      }, timeoutMs);
      const queue = this.waiters.get(type) ?? [];
      queue.push((report) => {
        clearTimeout(timer);
        this.failers.delete(fail);
        resolve(report as ReportOf<T>);
      });
      this.waiters.set(type, queue);
      this.failers.add(fail);
    });
  }
}

/** A set of client worker processes. */
export class WorkerPool {
  private constructor(private readonly workers: WorkerHandle[]) {}

  /** Forks `count` workers of `script` (default: the WebSocket client worker) in `cwd`; waits until each is ready. */
  static async start(count: number, cwd: string, script = WORKER_PATH): Promise<WorkerPool> {
    const workers: WorkerHandle[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(script, [], {
        cwd,
        execArgv: typeScriptNodeArgs(),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
      workers.push(new WorkerHandle(child));
    }
    await Promise.all(workers.map((worker) => worker.next('ready', 30_000)));
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  /** Sends each worker its connect command (commands[i] to worker i) and waits for all to finish. */
  connect(commands: ConnectCommand[], timeoutMs: number): Promise<ConnectedReport[]> {
    return Promise.all(
      this.workers.map((worker, i) => {
        const reply = worker.next('connected', timeoutMs);
        const command = commands[i];
        if (command !== undefined) worker.send(command);
        return reply;
      }),
    );
  }

  /** Every worker drops all its connections at once and reconnects them (a reconnect storm). */
  reconnect(batchSize: number, batchPauseMs: number, timeoutMs: number): Promise<ConnectedReport[]> {
    return Promise.all(
      this.workers.map((worker) => {
        const reply = worker.next('connected', timeoutMs);
        worker.send({ type: 'reconnect', batchSize, batchPauseMs });
        return reply;
      }),
    );
  }

  /** Sends `command` to every worker and waits for each one's `type` report. */
  request<T extends WorkerReport['type']>(
    command: WorkerCommand,
    type: T,
    timeoutMs: number,
  ): Promise<ReportOf<T>[]> {
    return Promise.all(
      this.workers.map((worker) => {
        const reply = worker.next(type, timeoutMs);
        worker.send(command);
        return reply;
      }),
    );
  }

  /** Join/leave churn at `perSecond` over all workers (0 stops it). */
  churn(perSecond: number): void {
    for (const worker of this.workers)
      worker.send({ type: 'churn', perSecond: perSecond / this.workers.length });
  }

  /** Tells every worker a measured phase starts now. */
  mark(phase: number): void {
    for (const worker of this.workers) worker.send({ type: 'mark', phase });
  }

  progress(): Promise<ProgressReport[]> {
    return Promise.all(
      this.workers.map((worker) => {
        const reply = worker.next('progress', 30_000);
        worker.send({ type: 'progress' });
        return reply;
      }),
    );
  }

  /** Each worker's statistics of `phase`; `expectedByRoom` overrides `expectedPerClient` per room. */
  stats(
    phase: number,
    expectedPerClient: number,
    expectedByRoom?: Record<string, number>,
  ): Promise<StatsReport[]> {
    return Promise.all(
      this.workers.map((worker) => {
        const reply = worker.next('stats', 60_000);
        worker.send(
          expectedByRoom === undefined
            ? { type: 'stats', phase, expectedPerClient }
            : { type: 'stats', phase, expectedPerClient, expectedByRoom },
        );
        return reply;
      }),
    );
  }

  /** Asks the workers to close their connections and exit; kills any still alive after 5 s. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.exited !== undefined) {
              resolve();
              return;
            }
            const timer = setTimeout(() => worker.child.kill('SIGKILL'), 5_000);
            worker.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.send({ type: 'close' });
          }),
      ),
    );
  }
}
