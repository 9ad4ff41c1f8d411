import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './engine-process.ts';
import { roomcastCliArgs } from './roomcast-cli.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A `roomcast <role>` child process a test started; stop or kill it before the test ends. */
export interface RoomcastProcess {
  readonly role: string;
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly child: ChildProcess;
  /** The last output (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves when /readyz answers 200; rejects when the process exits or `timeoutMs` passes. */
  ready(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null after a signal) when the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

/** How to start roomcast instead of this checkout's source: node arguments before the role, and where. */
export interface RoomcastLaunch {
  /** e.g. `['node_modules/@roomcast/server/bin/roomcast.js']` of an installed copy. */
  readonly nodeArgs: readonly string[];
  readonly cwd: string;
}

/**
 * Spawns `roomcast <role>` (this checkout's `src/cli.ts` through tsx, unless `launch` says
 * otherwise) on a free loopback port with only the given ROOMCAST_* settings (the machine's own
 * are dropped, so they cannot change the test).
 */
export async function spawnRoomcast(
  role: string,
  settings: Record<string, string>,
  launch: RoomcastLaunch = { nodeArgs: roomcastCliArgs(), cwd: ROOT },
): Promise<RoomcastProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
  Object.assign(env, {
    ROOMCAST_LOG_PRETTY: 'false',
    ROOMCAST_LOG_LEVEL: 'warn',
    ROOMCAST_HOST: '127.0.0.1',
    ROOMCAST_PORT: String(port),
    ...settings,
  });
  const child = spawn(process.execPath, [...launch.nodeArgs, role], {
    cwd: launch.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    role,
    port,
    url,
    child,
    exited,
    output: () => output,
    ready: async (timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!running()) throw new Error(`roomcast ${role} exited at start: ${output.slice(-3000)}`);
        const ok = await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (Date.now() > deadline)
          throw new Error(`roomcast ${role} not ready in ${timeoutMs} ms: ${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stop: () => {
      stopping ??= (async () => {
        if (!running()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
