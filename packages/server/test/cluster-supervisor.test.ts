import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { alive } from '../src/local-cluster/cluster-engines.ts';
import { CLUSTER_JSON_PREFIX } from '../src/local-cluster/local-cluster.ts';
import {
  type ProcessEnd,
  ProcessSupervisor,
  type SupervisedProcess,
} from '../src/local-cluster/process-supervisor.ts';
import { RestartBackoff } from '../src/local-cluster/restart-backoff.ts';
import { waitUntil } from './helpers/engine-process.ts';
import { connectRedis, startRedisServer } from './helpers/redis-launcher.ts';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';

// The supervisor of `roomcast cluster` (local-cluster.test.ts runs it on a whole cluster): its
// policy on fake processes, the engines' restart in place, and `--fail-fast`.

describe('restart backoff', () => {
  it('doubles from the first delay up to the cap, and starts over after a reset', () => {
    const backoff = new RestartBackoff({ initialMs: 500, maxMs: 10_000, stableMs: 30_000 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });
});

/** A process the test ends by hand: `die` ends the current one, `restart` starts a new one. */
class FakeProcess implements SupervisedProcess {
  readonly label: string;
  readonly replaceWhenClean: boolean;
  restarts = 0;
  /** Make the next restarts throw. */
  failRestarts = 0;
  private pidNow = 1;
  private finish: (end: ProcessEnd) => void = () => undefined;
  private end: Promise<ProcessEnd>;

  constructor(label: string, opts: { replaceWhenClean?: boolean } = {}) {
    this.label = label;
    this.replaceWhenClean = opts.replaceWhenClean ?? false;
    this.end = this.fresh();
  }

  private fresh(): Promise<ProcessEnd> {
    return new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  pid(): number {
    return this.pidNow;
  }

  ended(): Promise<ProcessEnd> {
    return this.end;
  }

  die(end: ProcessEnd = { how: 'signal SIGKILL', clean: false }): void {
    this.finish(end);
  }

  async restart(): Promise<void> {
    this.restarts++;
    if (this.failRestarts > 0) {
      this.failRestarts--;
      throw new Error('port in use');
    }
    this.pidNow++;
    this.end = this.fresh();
  }
}

function supervisor(policy = { initialMs: 1, maxMs: 8, stableMs: 60_000 }) {
  const lines: string[] = [];
  const fatal: string[] = [];
  const restarted: string[] = [];
  const sup = new ProcessSupervisor({
    backoff: policy,
    log: (line) => lines.push(line),
    onFatal: (proc, end) => fatal.push(`${proc.label}: ${end.how}`),
    onRestarted: (proc) => restarted.push(proc.label),
  });
  return { sup, lines, fatal, restarted };
}

const until = (check: () => boolean, what: string) => waitUntil(async () => check(), 10_000, what);

describe('process supervisor', () => {
  it('treats every end as fatal until restarting starts', async () => {
    const { sup, fatal, lines } = supervisor();
    const gw = new FakeProcess('gw1 (gateway)');
    sup.watch(gw);
    gw.die({ how: 'exit code 1', clean: false });
    await until(() => fatal.length === 1, 'the fatal end');
    expect(fatal).toEqual(['gw1 (gateway): exit code 1']);
    expect(gw.restarts).toBe(0);
    expect(lines).toEqual([]);
    await sup.stop();
  });

  it('restarts a process that dies, with doubling delays, and logs each restart', async () => {
    const { sup, lines, restarted, fatal } = supervisor();
    const api = new FakeProcess('api1 (api)');
    sup.watch(api);
    sup.startRestarting();
    for (let n = 1; n <= 3; n++) {
      api.die();
      await until(() => restarted.length === n, `restart ${n}`);
    }
    expect(api.pid()).toBe(4);
    expect(lines.filter((l) => l.startsWith('restarting'))).toEqual([
      'restarting api1 (api): pid 1 exited unexpectedly (signal SIGKILL); restart 1 in 0.001 s',
      'restarting api1 (api): pid 2 exited unexpectedly (signal SIGKILL); restart 2 in 0.002 s',
      'restarting api1 (api): pid 3 exited unexpectedly (signal SIGKILL); restart 3 in 0.004 s',
    ]);
    expect(lines).toContain('api1 (api) is ready again: pid 4');
    expect(fatal).toEqual([]);
    await sup.stop();
  });

  it('starts the delays over once a restarted process stayed ready for stableMs', async () => {
    vi.useFakeTimers();
    try {
      const { sup, lines, restarted } = supervisor({ initialMs: 500, maxMs: 10_000, stableMs: 30_000 });
      const worker = new FakeProcess('worker (worker)');
      sup.watch(worker);
      sup.startRestarting();
      worker.die();
      await vi.advanceTimersByTimeAsync(500);
      expect(restarted).toHaveLength(1);
      // Dies again 10 s after it was back: the next delay doubles.
      await vi.advanceTimersByTimeAsync(10_000);
      worker.die();
      await vi.advanceTimersByTimeAsync(999);
      expect(restarted).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(restarted).toHaveLength(2);
      // Then it stays up for 30 s: the one after starts from 0.5 s again.
      await vi.advanceTimersByTimeAsync(30_000);
      worker.die();
      await vi.advanceTimersByTimeAsync(500);
      expect(restarted).toHaveLength(3);
      expect(lines.filter((l) => l.startsWith('restarting')).map((l) => l.replace(/.*; /, ''))).toEqual([
        'restart 1 in 0.5 s',
        'restart 2 in 1 s',
        'restart 3 in 0.5 s',
      ]);
      await sup.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('replaces a gateway that exited 0 at once, as a replacement rather than a failure', async () => {
    const { sup, lines, restarted } = supervisor({ initialMs: 60_000, maxMs: 60_000, stableMs: 60_000 });
    const gw = new FakeProcess('gw2 (gateway)', { replaceWhenClean: true });
    sup.watch(gw);
    sup.startRestarting();
    gw.die({ how: 'exit code 0', clean: true });
    // The backoff (a minute) does not apply.
    await until(() => restarted.length === 1, 'the replacement');
    expect(lines[0]).toBe(
      'replacing gw2 (gateway): pid 1 drained and exited 0; a fresh process takes its place (replacement 1)',
    );
    await sup.stop();
  });

  it('gives a replacement that failed to start the backoff, so a gateway exiting 0 at start does not spin', async () => {
    const { sup, lines, restarted } = supervisor();
    const gw = new FakeProcess('gw2 (gateway)', { replaceWhenClean: true });
    gw.failRestarts = 1;
    sup.watch(gw);
    sup.startRestarting();
    gw.die({ how: 'exit code 0', clean: true });
    await until(() => restarted.length === 1, 'the second attempt');
    expect(lines).toEqual([
      'replacing gw2 (gateway): pid 1 drained and exited 0; a fresh process takes its place (replacement 1)',
      'gw2 (gateway): restart 1 failed: port in use',
      'restarting gw2 (gateway): pid 1 exited unexpectedly (exit code 0); restart 2 in 0.001 s',
      'gw2 (gateway) is ready again: pid 2',
    ]);
    await sup.stop();
  });

  it('retries a restart that failed, after the next delay', async () => {
    const { sup, lines, restarted } = supervisor();
    const shard = new FakeProcess('redis shard 1');
    shard.failRestarts = 2;
    sup.watch(shard);
    sup.startRestarting();
    shard.die();
    await until(() => restarted.length === 1, 'the restart');
    expect(shard.restarts).toBe(3);
    expect(lines.filter((l) => l.includes('failed'))).toEqual([
      'redis shard 1: restart 1 failed: port in use',
      'redis shard 1: restart 2 failed: port in use',
    ]);
    await sup.stop();
  });

  it('stops at once, even in the middle of a delay, and restarts nothing after', async () => {
    const { sup, restarted } = supervisor({ initialMs: 60_000, maxMs: 60_000, stableMs: 60_000 });
    const nats = new FakeProcess('nats');
    sup.watch(nats);
    sup.startRestarting();
    nats.die();
    await sup.stop();
    expect(nats.restarts).toBe(0);
    expect(restarted).toEqual([]);
  });
});

describe('engine restarts in place', () => {
  it('a killed redis-server restarts on its port and directory and reloads its append-only file', async () => {
    const redis = await startRedisServer();
    try {
      const client = connectRedis(redis.port);
      await client.set('kept', 'yes');
      await client.quit();
      await redis.kill();
      expect(await redis.ended()).toBe('signal SIGKILL');
      await redis.restart();
      const again = connectRedis(redis.port);
      expect(await again.get('kept')).toBe('yes');
      await again.quit();
    } finally {
      await redis.stop();
    }
    expect(existsSync(redis.dir)).toBe(false);
  });

  it('an in-memory redis-server ({ appendonly: false }) comes back empty', async () => {
    const redis = await startRedisServer({ appendonly: false });
    try {
      const client = connectRedis(redis.port);
      await client.set('lost', 'yes');
      await client.quit();
      await redis.kill();
      await redis.restart();
      const again = connectRedis(redis.port);
      expect(await again.get('lost')).toBeNull();
      await again.quit();
    } finally {
      await redis.stop();
    }
  });
});

// `--fail-fast` keeps what `roomcast cluster` did before it supervised: the first unexpected exit
// stops everything, exit 1.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface ClusterState {
  pids: number[];
  roles: { name: string; pid: number }[];
}

let failFast: ChildProcess | undefined;

afterAll(async () => {
  if (failFast && failFast.exitCode === null && failFast.signalCode === null) {
    const gone = new Promise((resolve) => failFast?.once('exit', resolve));
    failFast.kill('SIGINT');
    await gone;
  }
}, 120_000);

describe('roomcast cluster --fail-fast', () => {
  it('stops everything with exit code 1 when a gateway is killed', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
    env.ROOMCAST_JWT_SECRET = 'cluster-supervisor-test-secret-0123';
    const args = [
      'cluster',
      '--gateways',
      '1',
      '--apis',
      '1',
      '--workers',
      '1',
      '--postgres',
      'private',
      '--base-port',
      '0',
      '--fail-fast',
    ];
    const child = spawn(process.execPath, [...roomcastCliArgs(), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    failFast = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const state = await Promise.race([
      (async () => {
        await waitUntil(async () => output.includes(CLUSTER_JSON_PREFIX), 170_000, 'roomcast cluster');
        const line = output.split('\n').find((l) => l.startsWith(CLUSTER_JSON_PREFIX)) as string;
        return JSON.parse(line.slice(CLUSTER_JSON_PREFIX.length)) as ClusterState;
      })(),
      exited.then((code) => {
        throw new Error(`roomcast cluster exited (${code}) at start:\n${output}`);
      }),
    ]);
    const gw = state.roles.find((r) => r.name === 'gw1');
    expect(gw).toBeDefined();
    process.kill(gw?.pid as number, 'SIGKILL');
    expect(await exited).toBe(1);
    expect(output).toContain(`gw1 (gateway): pid ${gw?.pid} exited unexpectedly (signal SIGKILL)`);
    expect(output).toContain('roomcast cluster: stopping everything');
    expect(output).not.toContain('restarting');
    expect(state.pids.filter(alive)).toEqual([]);
    // After a failure the command keeps its logs for a look: this test has looked.
    const logs = /the roles' logs are in (\S*roomcast-cluster-[^/\s]+)\/logs/.exec(output)?.[1];
    expect(logs).toBeDefined();
    await rm(logs as string, { recursive: true, force: true });
  }, 240_000);
});
