import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './engine-process.ts';

const run = promisify(execFile);

/** The PostgreSQL server programs the launcher needs, by absolute path. */
export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
}

/** A private PostgreSQL cluster started by `launchPostgres`. */
export interface LaunchedPostgres {
  readonly host: string;
  readonly port: number;
  /** The superuser the cluster was created with (trust authentication on loopback only). */
  readonly user: string;
  /** The cluster's data directory (its `postmaster.pid` names the server process). */
  readonly dataDir: string;
  /** A connection string for `database` on this cluster. */
  dsn(database: string): string;
  /** Stops the server at once (`pg_ctl stop -m immediate`), keeping its data: a shard outage. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port and waits until it answers. */
  resume(): Promise<void>;
  /**
   * Starts the server again after it ended by itself (a crash, a kill -9): same port, same data
   * directory (PostgreSQL replays its WAL); waits until it answers. Throws when it cannot start yet,
   * e.g. while the dead server's backends still hold its shared memory: try again a little later.
   */
  restart(): Promise<void>;
  /** The server process's PID from `postmaster.pid`; undefined when the server is not running. */
  postmasterPid(): number | undefined;
  /** Stops the server and deletes its directory; idempotent. */
  stop(): Promise<void>;
}

const MISSING =
  'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: ' +
  'install the Debian package `postgresql` (apt-get install -y postgresql)';

/**
 * Finds initdb, pg_ctl and postgres: first in one directory of PATH that has all three, then in the
 * newest /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH). Throws one line naming the
 * Debian package when none has them.
 */
export function findPostgresBinaries(search: { path?: string; debianRoot?: string } = {}): PostgresBinaries {
  const pathDirs = (search.path ?? process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const debianRoot = search.debianRoot ?? '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(debianRoot)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    // No Debian PostgreSQL installed: PATH is the only place left.
  }
  for (const dir of [...pathDirs, ...versions.map((v) => join(debianRoot, v, 'bin'))]) {
    const found = {
      initdb: join(dir, 'initdb'),
      pgCtl: join(dir, 'pg_ctl'),
      postgres: join(dir, 'postgres'),
    };
    if (Object.values(found).every(isExecutable)) return found;
  }
  throw new Error(MISSING);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * initdb and postgres refuse to run as root, and CI runs as root: then every server program runs as
 * the `postgres` user (created by the Debian package) through `runuser`, in a directory it owns.
 */
function asServerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root and there is no `postgres` user to run PostgreSQL as: install the Debian package `postgresql`',
    );
  }
}

/**
 * Starts a private PostgreSQL for tests: `initdb` in a fresh temp dir (trust auth, no fsync), the
 * server on a free loopback port with its unix socket in that dir too, waits until it answers, and
 * creates `databases`. Never touches a PostgreSQL already running on the machine. Call `stop`
 * when done; a process exit stops it too, so a crashed test run leaves no server behind.
 */
export async function launchPostgres(opts: { databases: readonly string[] }): Promise<LaunchedPostgres> {
  const bin = findPostgresBinaries();
  const owner = asServerUser();
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-pg-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const user = 'roomcast';
  const exec = (file: string, args: string[]) =>
    owner
      ? run('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: dir })
      : run(file, args, { cwd: dir });
  const execSync = (file: string, args: string[]) =>
    owner
      ? execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: dir, stdio: 'ignore' })
      : execFileSync(file, args, { cwd: dir, stdio: 'ignore' });

  await exec(bin.initdb, [
    '-D',
    dataDir,
    '-U',
    user,
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
    '--no-sync',
  ]);

  let port = 0;
  let running = false;
  const start = async (): Promise<void> => {
    // No fsync: test data is thrown away, and commits get faster. synchronous_commit stays on, so a
    // commit is in the WAL (the OS's cache) before it returns and survives `pause` (an immediate stop).
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=300',
      // The rooms change feed reads the WAL through logical replication slots (pgoutput); a slot
      // whose consumer is gone may keep at most this much WAL before PostgreSQL invalidates it.
      '-c wal_level=logical',
      '-c max_replication_slots=32',
      '-c max_wal_senders=32',
      '-c max_slot_wal_keep_size=1GB',
    ].join(' ');
    await exec(bin.pgCtl, [
      'start',
      '-D',
      dataDir,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'server.log'),
      '-o',
      options,
    ]);
    running = true;
  };
  const stopArgs = ['stop', '-D', dataDir, '-m', 'immediate', '-w'];
  const stopServer = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await exec(bin.pgCtl, stopArgs).catch(() => undefined);
  };
  // Last resort when the test process exits without calling stop: synchronous, as 'exit' requires.
  const stopAtExit = (): void => {
    if (!running) return;
    running = false;
    try {
      execSync(bin.pgCtl, stopArgs);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', stopAtExit);

  // A port can be taken between freePort and the server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const host = '127.0.0.1';
  const dsn = (database: string) => `postgresql://${user}@${host}:${port}/${database}`;
  const admin = new pg.Client({ connectionString: dsn('postgres') });
  await admin.connect();
  try {
    for (const db of opts.databases) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(db)}`);
  } finally {
    await admin.end();
  }

  let stopped = false;
  return {
    host,
    port,
    user,
    dataDir,
    dsn,
    pause: stopServer,
    resume: async () => {
      if (!running && !stopped) await start();
    },
    restart: async () => {
      if (stopped) throw new Error('PostgreSQL was stopped');
      // pg_ctl runs the server as a daemon: it died without telling us, so `running` is stale.
      running = false;
      await start();
    },
    postmasterPid: () => (running ? readPostmasterPid(dataDir) : undefined),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopServer();
      process.removeListener('exit', stopAtExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The first line of `postmaster.pid`: the server's PID, while the file exists. */
function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
