import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Where listening ports are picked: below the kernel's ephemeral range (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default). A port from that range — what
 * `listen(0)` hands out — is also what outgoing connections take, so on a busy machine it can be
 * grabbed between the probe and the real bind; ports below it are only ever taken by listeners.
 */
function listenPortRange(): { min: number; max: number } | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && low - 1 - 10_000 >= 1_000) return { min: 10_000, max: low - 1 };
  } catch {
    // not Linux: the kernel's choice below
  }
  return undefined;
}

const LISTEN_PORTS = listenPortRange();

/** Binds `port` on loopback (0: any) and closes again; the port it got, or undefined when taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : undefined));
    });
  });
}

/** A loopback port that was free a moment ago, from outside the ephemeral range where there is one. */
export async function freePort(): Promise<number> {
  if (LISTEN_PORTS !== undefined) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const candidate =
        LISTEN_PORTS.min + Math.floor(Math.random() * (LISTEN_PORTS.max - LISTEN_PORTS.min + 1));
      const port = await probePort(candidate);
      if (port !== undefined) return port;
    }
  }
  const port = await probePort(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

/**
 * The absolute path of an engine binary, from PATH or the extra directories; throws one line naming
 * the Debian package to install when it is missing.
 */
export function findBinary(
  name: string,
  debianPackage: string,
  extraDirs: readonly string[] = ['/usr/sbin', '/usr/bin'],
): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...extraDirs];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} not found: install the Debian package \`${debianPackage}\` (apt-get install -y ${debianPackage})`,
  );
}

/** True once something accepts TCP connections on host:port (default 127.0.0.1). */
export function tcpAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * True once the server on 127.0.0.1:port answers `request` with a reply starting `expected`
 * (e.g. Redis `PING` → `+PONG`; a Redis still loading its AOF answers `-LOADING`).
 */
export function answersWith(port: number, request: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.length >= expected.length || reply.includes('\n')) done(reply.startsWith(expected));
    });
    socket.once('error', () => done(false));
    socket.once('end', () => done(false));
  });
}

export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An engine server process a test started: its port and temp directory, and how to stop it. */
export interface EngineProcess {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  /** The current process (a new one after `restart`). */
  readonly child: ChildProcess;
  /** The output so far (for failure messages). */
  output(): string;
  /**
   * Resolves with how the current process ended (`exit code 1`, `signal SIGKILL`), at once when
   * it is not running.
   */
  ended(): Promise<string>;
  /** SIGKILL, keeping the directory: a crash. */
  kill(): Promise<void>;
  /**
   * Starts the binary again, on the same port and in the same directory (its data kept), after
   * the process ended; resolves once it answers. Throws while the process still runs, or when the
   * new one exits or does not answer in time. A `stop` meanwhile stops the new process too.
   */
  restart(): Promise<void>;
  /**
   * Stops the process (SIGTERM, then SIGKILL after 3 s) and deletes its directory when the launcher
   * made it; idempotent.
   */
  stop(): Promise<void>;
}

export interface EngineSpec {
  name: string;
  binary: string;
  /** Arguments for a server on `port` keeping its files in `dir`. */
  args(port: number, dir: string): string[];
  /** Ready check; default: TCP answers on the port. */
  ready?(port: number): Promise<boolean>;
  /** Reuse this port (a restart) instead of a new free one. */
  port?: number;
  /** Reuse this directory (a restart keeping data) instead of a new temp one. */
  dir?: string;
  readyTimeoutMs?: number;
}

/** One spawned engine process: its exit, as a description, and its output. */
interface Spawned {
  readonly child: ChildProcess;
  /** Resolves with `exit code N` or `signal SIG…` once the process has ended. */
  readonly exited: Promise<string>;
  ended(): boolean;
}

function spawnEngine(spec: EngineSpec, port: number, dir: string, collect: (chunk: Buffer) => void): Spawned {
  const child = spawn(spec.binary, spec.args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let ended = false;
  const exited = new Promise<string>((resolve) => {
    const done = (how: string) => {
      ended = true;
      resolve(how);
    };
    child.once('exit', (code, signal) => done(signal === null ? `exit code ${code}` : `signal ${signal}`));
    // A spawn failure (a binary gone meanwhile) emits 'error' and no 'exit'.
    child.once('error', (err) => done(`spawn error: ${err.message}`));
  });
  return { child, exited, ended: () => ended };
}

/** Waits until `spec`'s ready check passes on `port`; kills the process when it does not. */
async function awaitReady(
  spec: EngineSpec,
  port: number,
  proc: Spawned,
  output: () => string,
): Promise<void> {
  try {
    await waitUntil(
      async () => {
        if (proc.ended()) throw new Error(`${spec.name} exited at start: ${output().trim().slice(-2000)}`);
        return (spec.ready ?? tcpAnswers)(port);
      },
      spec.readyTimeoutMs ?? 15_000,
      spec.name,
    );
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
}

/**
 * Starts an engine binary (redis-server, nats-server, nutcracker, …) on a free loopback port in a
 * temp directory and waits until it answers. Tests own the process: stop() it in afterAll.
 */
export async function startEngine(spec: EngineSpec): Promise<EngineProcess> {
  const port = spec.port ?? (await freePort());
  const dir = spec.dir ?? (await mkdtemp(join(tmpdir(), `roomcast-${spec.name}-`)));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  let current = spawnEngine(spec, port, dir, collect);
  try {
    await awaitReady(spec, port, current, () => output);
  } catch (err) {
    // It never ran: nothing in the directory this launcher made is worth keeping.
    await current.exited;
    if (spec.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stopCurrent = async () => {
    const proc = current;
    if (proc.ended()) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 3000);
    await proc.exited;
    clearTimeout(timer);
  };
  return {
    name: spec.name,
    port,
    dir,
    get child() {
      return current.child;
    },
    output: () => output,
    ended: () => current.exited,
    kill: async () => {
      if (!current.ended()) current.child.kill('SIGKILL');
      await current.exited;
    },
    restart: async () => {
      if (stopped) throw new Error(`${spec.name} was stopped`);
      if (!current.ended()) throw new Error(`${spec.name} (pid ${current.child.pid}) is still running`);
      current = spawnEngine(spec, port, dir, collect);
      await awaitReady(spec, port, current, () => output);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopCurrent();
      if (spec.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
