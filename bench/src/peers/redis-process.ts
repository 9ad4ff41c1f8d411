/**
 * A private redis-server for the Socket.IO Redis adapter: started on a free loopback port with no
 * persistence, stopped (and its directory removed) by the harness.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchExit } from '../child-exit.ts';
import { sleep } from '../clock.ts';
import { freePort } from '../servers.ts';

/** A running redis-server. */
export interface RunningRedis {
  pid: number;
  port: number;
  exitStatus(): string | undefined;
  stop(): Promise<void>;
}

/** Resolves true when a Redis on `port` answers PING with PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts redis-server on a free loopback port in a temp directory and waits until it answers PING. */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-bench-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const watched = watchExit(child);
  const exited = watched.exited;
  const stop = async (): Promise<void> => {
    if (watched.status() === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  while (!(await pings(port))) {
    if (watched.status() !== undefined || Date.now() - started > 15_000) {
      await stop();
      throw new Error(`redis-server did not start (${watched.status() ?? 'timeout'})`);
    }
    await sleep(100);
  }
  return { pid: child.pid ?? -1, port, exitStatus: () => watched.status(), stop };
}
