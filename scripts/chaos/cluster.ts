/**
 * `roomcast cluster` as a child process: waits for its machine-readable line, keeps the latest one
 * (the supervisor prints it again after every restart), and notices every PID that changed. A
 * change the fault suite did not cause (it registers each PID it kills first) is a crash of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { CLUSTER_JSON_PREFIX } from '../../packages/server/src/local-cluster/local-cluster.ts';
import { typeScriptNodeArgs } from '../../packages/server/src/runtime/node-command.ts';
import { sleep } from './http.ts';

export interface MachineRole {
  name: string;
  role: 'api' | 'gateway' | 'worker' | 'settler' | 'ongoing';
  pid: number;
  port: number;
}

export interface MachineEngine {
  name: string;
  pid?: number;
  port: number;
}

export interface MachineLine {
  apis: string[];
  gateways: string[];
  roles: MachineRole[];
  engines?: MachineEngine[];
}

/** A PID that changed between two machine lines. */
export interface PidChange {
  at: number;
  name: string;
  from: number | undefined;
  to: number | undefined;
  /** The fault suite killed or drained `from` itself. */
  expected: boolean;
}

export class ClusterChild {
  latest: MachineLine;
  readonly changes: PidChange[] = [];
  /** The supervisor's own lines (`roomcast cluster: restarting …`), with their times. */
  readonly supervisorLines: { at: number; text: string }[] = [];
  private readonly expected = new Map<string, number>();
  private known = new Map<string, number | undefined>();
  private exitStatus: string | undefined;
  /** The roles' logs directory the cluster printed (deleted by the cluster on a clean stop). */
  logDir: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    first: MachineLine,
    private readonly log: WriteStream,
    private readonly exited: Promise<void>,
  ) {
    this.latest = first;
    this.known = pidsOf(first);
  }

  static async start(opts: {
    repoRoot: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    logPath: string;
    readyTimeoutMs: number;
  }): Promise<ClusterChild> {
    const log = createWriteStream(opts.logPath, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [...typeScriptNodeArgs(), 'packages/server/src/cli.ts', 'cluster', ...opts.args],
      {
        cwd: opts.repoRoot,
        env: opts.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let status: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        status = signal === null ? `exit code ${code}` : `signal ${signal}`;
        resolve();
      });
      child.once('error', (err) => {
        status ??= `spawn error ${err.message}`;
        resolve();
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
    let instance: ClusterChild | undefined;
    let logDir: string | undefined;
    let buffered = '';
    const first = await new Promise<MachineLine>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`roomcast cluster not ready in ${opts.readyTimeoutMs} ms (log ${opts.logPath})`)),
        opts.readyTimeoutMs,
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const logs = /^\s+logs\s+(\S+)/.exec(line);
          if (logs !== null) logDir = logs[1];
          if (line.startsWith(CLUSTER_JSON_PREFIX)) {
            const machine = JSON.parse(line.slice(CLUSTER_JSON_PREFIX.length)) as MachineLine;
            if (instance === undefined) {
              clearTimeout(timer);
              resolve(machine);
            } else instance.onMachine(machine);
          } else if (line.startsWith('roomcast cluster: ')) {
            instance?.supervisorLines.push({ at: Date.now(), text: line.slice('roomcast cluster: '.length) });
          }
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`roomcast cluster exited (${status}) before it was ready (log ${opts.logPath})`));
      });
    });
    instance = new ClusterChild(child, first, log, exited);
    instance.logDir = logDir;
    void exited.then(() => {
      if (instance !== undefined) instance.exitStatus = status ?? 'exited';
    });
    return instance;
  }

  /** Set when the cluster command itself ended. */
  ended(): string | undefined {
    return this.exitStatus;
  }

  /** Every process by name (roles and engine servers) with its current PID. */
  pids(): Map<string, number | undefined> {
    return pidsOf(this.latest);
  }

  /** Kills `name`'s current process with SIGKILL, after noting that its PID will change. */
  kill9(name: string): number | undefined {
    const pid = this.pids().get(name);
    if (pid === undefined) return undefined;
    this.expect(name, pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return undefined;
    }
    return pid;
  }

  /** The PID of `name` will change because the suite asked for it (a drain). */
  expect(name: string, pid: number): void {
    this.expected.set(name, pid);
  }

  /** True once `name` runs under another PID than `pid`. */
  replaced(name: string, pid: number): boolean {
    const now = this.pids().get(name);
    return now !== undefined && now !== pid;
  }

  private onMachine(machine: MachineLine): void {
    this.latest = machine;
    const now = pidsOf(machine);
    for (const [name, pid] of now) {
      const before = this.known.get(name);
      if (before === pid || pid === undefined) continue;
      const expected = before !== undefined && this.expected.get(name) === before;
      if (expected) this.expected.delete(name);
      this.changes.push({ at: Date.now(), name, from: before, to: pid, expected });
      this.known.set(name, pid);
    }
  }

  /** SIGINT (the cluster stops everything it started), SIGKILL after `deadlineMs`. */
  async stop(deadlineMs = 90_000): Promise<string> {
    if (this.exitStatus === undefined) {
      this.child.kill('SIGINT');
      const done = await Promise.race([this.exited.then(() => true), sleep(deadlineMs).then(() => false)]);
      if (!done) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
    return this.exitStatus ?? 'exited';
  }
}

function pidsOf(machine: MachineLine): Map<string, number | undefined> {
  const pids = new Map<string, number | undefined>();
  for (const role of machine.roles) pids.set(role.name, role.pid);
  for (const engine of machine.engines ?? []) pids.set(engine.name, engine.pid);
  return pids;
}
