/**
 * Starts the servers under test as child processes on free loopback ports, waits until they
 * answer `GET /healthz`, and stops them. The child's PID is the server process itself
 * (`node --import tsx …`, no wrapper), so proc-stats can read its CPU and memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../packages/server/src/engines/engine-process.ts';
import { typeScriptNodeArgs } from '../../packages/server/src/runtime/node-command.ts';
import { watchExit } from './child-exit.ts';
import { sleep } from './clock.ts';
import { createAgent, requestJson } from './http-json.ts';

/** The Node servers this module starts: roomcast itself and the Node peers. */
export type ServerKind = 'roomcast' | 'naive' | 'socketio';

/** A running server under test. */
export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  baseUrl: string;
  wsUrl: string;
  logPath: string;
  /** Seconds from spawn until /healthz answered 200. */
  startupSec: number;
  /** Exit code/signal once the process exited, otherwise undefined. */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL after 5 s; removes the data directory. */
  stop(): Promise<void>;
}

/** The last `lines` lines of a log file (for error messages). */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function commandFor(kind: ServerKind, port: number, dataDir: string): string[] {
  switch (kind) {
    case 'roomcast':
      return [
        ...typeScriptNodeArgs(),
        'packages/server/src/cli.ts',
        'dev',
        '--port',
        String(port),
        '--data',
        dataDir,
      ];
    case 'naive':
      return [...typeScriptNodeArgs(), 'bench/src/naive-server.ts', '--port', String(port)];
    case 'socketio':
      return [...typeScriptNodeArgs(), 'bench/src/peers/socketio-server.ts', '--port', String(port)];
  }
}

/**
 * Extra Node flags for the servers under test from `BENCH_SERVER_NODE_ARGS`, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a server (Node refuses these in NODE_OPTIONS).
 */
function serverNodeArgs(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

/** Spawns `kind` in `repoRoot` with output to `logPath` (and `extraArgs`), and waits until it is ready. */
export async function startServer(
  kind: ServerKind,
  repoRoot: string,
  logPath: string,
  extraArgs: readonly string[] = [],
): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `roomcast-bench-${kind}-`));
  const logFd = openSync(logPath, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...serverNodeArgs(), ...commandFor(kind, port, dataDir), ...extraArgs],
    {
      cwd: repoRoot,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    },
  );
  closeSync(logFd);
  const watched = watchExit(child);
  const exited = watched.exited;
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${kind}`);
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (watched.status() === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const agent = createAgent(1);
  try {
    for (;;) {
      if (watched.status() !== undefined)
        throw new Error(`${kind} exited during startup (${watched.status()}):\n${logTail(logPath)}`);
      if (Date.now() - started > 90_000)
        throw new Error(`${kind} not ready after 90 s:\n${logTail(logPath)}`);
      const ok = await requestJson(agent, 'GET', `${baseUrl}/healthz`, undefined, undefined, 2_000).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    agent.destroy();
  }
  return {
    kind,
    pid,
    port,
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    logPath,
    startupSec: (Date.now() - started) / 1000,
    exitStatus: () => watched.status(),
    stop,
  };
}

export { freePort };
