/**
 * Starts nginx in the foreground on a generated configuration in a private temp prefix, waits
 * until `GET /healthz` answers, and stops it. The spawned process is the nginx master; its workers
 * are its children, so proc-stats' tree readings cover all of them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchExit } from '../child-exit.ts';
import { sleep } from '../clock.ts';
import { createAgent, requestJson } from '../http-json.ts';
import { logTail } from '../servers.ts';

/** A running nginx. */
export interface RunningNginx {
  /** The master's PID. */
  pid: number;
  port: number;
  prefix: string;
  baseUrl: string;
  startupSec: number;
  exitStatus(): string | undefined;
  /** SIGTERM (fast shutdown), SIGKILL after 5 s; removes the prefix unless `keep`. */
  stop(keep?: boolean): Promise<void>;
}

/** A fresh private prefix directory for nginx (with its temp subdirectories). */
export function makeNginxPrefix(label: string): string {
  const prefix = mkdtempSync(join(tmpdir(), `roomcast-bench-${label}-`));
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'cache']) {
    mkdirSync(join(prefix, dir));
  }
  return prefix;
}

/** Writes `config` to `<prefix>/nginx.conf`, starts nginx on it and waits for `/healthz` on `port`. */
export async function startNginx(
  prefix: string,
  port: number,
  config: string,
  logPath: string,
): Promise<RunningNginx> {
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, config);
  const logFd = openSync(logPath, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(
    'nginx',
    ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', confPath, '-g', 'daemon off;'],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const watched = watchExit(child);
  const exited = watched.exited;
  const stop = async (keep = false): Promise<void> => {
    if (watched.status() === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (!keep) rmSync(prefix, { recursive: true, force: true });
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const agent = createAgent(1);
  try {
    for (;;) {
      if (watched.status() !== undefined) {
        throw new Error(
          `nginx exited during startup (${watched.status()}):\n${logTail(join(prefix, 'error.log'))}\n${logTail(logPath)}`,
        );
      }
      if (Date.now() - started > 30_000) throw new Error(`nginx not ready after 30 s`);
      const ok = await requestJson(agent, 'GET', `${baseUrl}/healthz`, undefined, undefined, 2_000).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(100);
    }
  } catch (error) {
    await stop(true);
    throw error;
  } finally {
    agent.destroy();
  }
  const pid = child.pid ?? -1;
  return {
    pid,
    port,
    prefix,
    baseUrl,
    startupSec: (Date.now() - started) / 1000,
    exitStatus: () => watched.status(),
    stop,
  };
}
