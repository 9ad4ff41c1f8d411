import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { typeScriptNodeArgs } from '../src/runtime/node-command.ts';
import { type EngineProcess, waitUntil } from './helpers/engine-process.ts';
import { launchZookeeper } from './helpers/zookeeper-launcher.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CHILD = 'packages/server/test/helpers/room-job-child.ts';
const ROOMS = Array.from({ length: 60 }, (_, i) => `us_room${i}`);
/**
 * Sessions of a few seconds: a killed worker is dropped once its session expires, and a busy
 * machine that stalls a process for a second does not expire a live one.
 */
const SESSION_MS = 4_000;
const CONVERGE_MS = 60_000;

/** A worker process running a PartitionedRoomJob, driven line by line over stdin. */
interface WorkerProcess {
  name: string;
  child: ChildProcess;
  ask(command: 'view' | 'tick'): Promise<string>;
}

/** One round of one worker: what it processed, under which view. */
interface Round {
  worker: string;
  outcome: string;
  view: string;
  rooms: string[];
}

describe('sharded room jobs through ZooKeeper and OngoingQuery (worker processes)', () => {
  let zookeeper: EngineProcess | undefined;
  const running: WorkerProcess[] = [];
  beforeAll(async () => {
    zookeeper = await launchZookeeper();
  }, 60_000);
  afterAll(async () => {
    await zookeeper?.stop();
  });
  afterEach(() => {
    for (const worker of running.splice(0)) worker.child.kill('SIGKILL');
  });

  async function startWorker(name: string, job: string, server = zookeeper): Promise<WorkerProcess> {
    if (server === undefined) throw new Error('ZooKeeper did not start');
    const child = spawn(process.execPath, [...typeScriptNodeArgs(), CHILD], {
      cwd: ROOT,
      env: {
        ...process.env,
        ZK_CONNECT: `127.0.0.1:${server.port}`,
        ZK_PREFIX: '/roomcast/workers',
        ZK_SESSION_MS: String(SESSION_MS),
        JOB: job,
        ROOMS: ROOMS.join(','),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines: string[] = [];
    const waiting: Array<(line: string) => void> = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', () => reject(new Error(`worker ${name} exited: ${stderr}`))),
    );
    exited.catch(() => undefined);
    const nextLine = () =>
      Promise.race([
        new Promise<string>((resolve) => {
          const line = lines.shift();
          if (line !== undefined) resolve(line);
          else waiting.push(resolve);
        }),
        exited,
      ]);
    expect(await nextLine()).toBe('joined');
    const worker: WorkerProcess = {
      name,
      child,
      ask: async (command) => {
        child.stdin?.write(`${command}\n`);
        return nextLine();
      },
    };
    running.push(worker);
    return worker;
  }

  /** Until every worker sees `count` members and they hold indexes 0 … count-1. */
  async function untilConverged(workers: readonly WorkerProcess[], count: number): Promise<void> {
    let views: string[] = [];
    await waitUntil(
      async () => {
        views = await Promise.all(workers.map(async (w) => (await w.ask('view')).slice('view '.length)));
        const expected = Array.from({ length: count }, (_, i) => `${i}/${count}`);
        return views.length === count && [...views].sort().join() === expected.sort().join();
      },
      CONVERGE_MS,
      `${workers.length} workers converging on ${count} members (views: ${views.join(' ')})`,
    );
  }

  async function roundOf(workers: readonly WorkerProcess[]): Promise<Round[]> {
    return Promise.all(
      workers.map(async (worker) => {
        const [, outcome = '', view = '', rooms = ''] = (await worker.ask('tick')).split(' ');
        return { worker: worker.name, outcome, view, rooms: rooms === '' ? [] : rooms.split(',') };
      }),
    );
  }

  /** Each worker ran on its own partition, and together they processed every room once. */
  function expectPartitioned(rounds: readonly Round[]): void {
    expect(rounds.map((r) => r.outcome)).toEqual(rounds.map(() => 'ran'));
    const all = rounds.flatMap((r) => r.rooms);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...ROOMS].sort());
    for (const round of rounds) expect(round.rooms.length).toBeGreaterThan(0);
  }

  it('splits every round between two workers: disjoint partitions whose union is every room', async () => {
    const job = `two-${randomUUID()}`;
    const workers = [await startWorker('a', job), await startWorker('b', job)];
    await untilConverged(workers, 2);
    for (let round = 0; round < 3; round++) expectPartitioned(await roundOf(workers));
  }, 120_000);

  it('splits every round between three workers, and between the two left after one is killed', async () => {
    const job = `three-${randomUUID()}`;
    const workers = [await startWorker('a', job), await startWorker('b', job), await startWorker('c', job)];
    await untilConverged(workers, 3);
    for (let round = 0; round < 3; round++) expectPartitioned(await roundOf(workers));

    const [doomed, ...survivors] = workers as [WorkerProcess, ...WorkerProcess[]];
    doomed.child.kill('SIGKILL');
    // Until its session expires the dead worker is still counted, and its partition waits.
    await untilConverged(survivors, 2);
    for (let round = 0; round < 3; round++) expectPartitioned(await roundOf(survivors));

    const replacement = await startWorker('d', job);
    await untilConverged([...survivors, replacement], 3);
    expectPartitioned(await roundOf([...survivors, replacement]));
  }, 180_000);

  it('processes nothing while ZooKeeper is down, and splits every round again once it is back', async () => {
    const own = await launchZookeeper();
    try {
      const job = `restart-${randomUUID()}`;
      const workers = [
        await startWorker('a', job, own),
        await startWorker('b', job, own),
        await startWorker('c', job, own),
      ];
      await untilConverged(workers, 3);
      expectPartitioned(await roundOf(workers));

      const port = own.port;
      await own.stop();
      await waitUntil(
        async () => (await Promise.all(workers.map((w) => w.ask('view')))).every((v) => v === 'view none'),
        CONVERGE_MS,
        'every view withdrawn while ZooKeeper is down',
      );
      const blind = await roundOf(workers);
      expect(blind.map((r) => [r.outcome, r.rooms])).toEqual(workers.map(() => ['no_view', []]));

      // A fresh server knows none of the old sessions: the workers register again by themselves.
      const back = await launchZookeeper({ port });
      try {
        await untilConverged(workers, 3);
        for (let round = 0; round < 3; round++) expectPartitioned(await roundOf(workers));
      } finally {
        await back.stop();
      }
    } finally {
      await own.stop();
    }
  }, 180_000);
});
