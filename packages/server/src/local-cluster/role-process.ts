import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { roomcastNodeArgs } from '../runtime/node-command.ts';

/** How a role process ended. */
export interface RoleExit {
  /** The exit code; null when a signal ended it (or it never started). */
  readonly code: number | null;
  /** `exit code 1`, `signal SIGKILL`, `spawn error: …`. */
  readonly how: string;
}

/**
 * A `roomcast <role>` child process of the local cluster; its output goes to `<logDir>/<name>.log`
 * (appended to, so a restarted role's log goes on in the same file).
 */
export interface RoleProcess {
  /** `api1`, `gw2`, `worker`, `settler`, `ongoing`. */
  readonly name: string;
  readonly role: 'api' | 'gateway' | 'worker' | 'settler' | 'ongoing' | 'shard-proxy';
  /** Where it serves HTTP: the API or WebSocket, and `/healthz`, `/readyz`, `/metrics` (every role). */
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with how it ended. */
  readonly exited: Promise<RoleExit>;
  running(): boolean;
  /** The last output, for failure messages. */
  output(): string;
  /** Resolves when the role is ready (/readyz answers 200); rejects when it exits first. */
  ready(timeoutMs: number): Promise<void>;
  /** SIGTERM (a gateway drains), then SIGKILL after `deadlineMs`; idempotent. */
  stop(deadlineMs: number): Promise<void>;
  /** SIGKILL now. */
  kill(): void;
}

/**
 * Spawns `roomcast <role>` (built, or from source through tsx) with `env` (the caller's own
 * environment plus the cluster's ROOMCAST_* settings), and the Node flags in
 * `env.ROOMCAST_ROLE_NODE_ARGS`. The child gets its own process group, so
 * a Ctrl-C in the terminal reaches only the cluster command, which then stops roles before engines.
 */
export function spawnRole(opts: {
  name: string;
  role: RoleProcess['role'];
  port: number;
  env: NodeJS.ProcessEnv;
  logDir: string;
}): RoleProcess {
  // Node refuses profiling flags in NODE_OPTIONS; ROOMCAST_ROLE_NODE_ARGS passes them to each role
  // (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, docs/performance.md).
  const nodeFlags = (opts.env.ROOMCAST_ROLE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, ...roomcastNodeArgs([opts.role])], {
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  let output = '';
  const collect = (chunk: Buffer) => {
    log.write(chunk);
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<RoleExit>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve({ code, how: signal === null ? `exit code ${code}` : `signal ${signal}` });
    });
    // A spawn failure emits 'error' and no 'exit'.
    child.once('error', (err) => {
      log.end();
      resolve({ code: null, how: `spawn error: ${err.message}` });
    });
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const running = () => !ended && child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${opts.port}`;
  let stopping: Promise<void> | undefined;
  return {
    name: opts.name,
    role: opts.role,
    port: opts.port,
    pid: child.pid ?? 0,
    logFile,
    exited,
    running,
    output: () => output,
    ready: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!running()) throw new Error(`${opts.name} exited at start:\n${output.trim().slice(-3000)}`);
        const ok = await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (Date.now() > deadline)
          throw new Error(`${opts.name} not ready in ${timeoutMs} ms:\n${output.trim().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: (deadlineMs) => {
      stopping ??= (async () => {
        if (!running()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
    kill: () => {
      if (running()) child.kill('SIGKILL');
    },
  };
}
