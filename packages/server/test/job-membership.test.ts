import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SingleMemberMembership } from '../src/adapters/memory/single-member-membership.ts';
import {
  ZookeeperMembership,
  type ZookeeperMembershipOptions,
} from '../src/adapters/zookeeper/zookeeper-membership.ts';
import type { JobMembership, MembershipHandle } from '../src/core/ports/worker-membership.ts';
import { typeScriptNodeArgs } from '../src/runtime/node-command.ts';
import { describeJobMembershipContract, untilPartitioned } from './contracts/job-membership-contract.ts';
import { type EngineProcess, freePort, waitUntil } from './helpers/engine-process.ts';
import { launchZookeeper } from './helpers/zookeeper-launcher.ts';

const ROOT = join(import.meta.dirname, '../../..');
const MEMBER_CHILD = 'packages/server/test/helpers/job-member-child.ts';
/** Short sessions, so a dead member is dropped quickly (the test server's tick is 100 ms). */
const SESSION_MS = 1_000;
const CONVERGE_MS = 30_000;

describeJobMembershipContract('single member', async () => new SingleMemberMembership(), { shared: false });

describe('ZooKeeper job membership', () => {
  let zookeeper: EngineProcess | undefined;
  beforeAll(async () => {
    zookeeper = await launchZookeeper();
  }, 60_000);
  afterAll(async () => {
    await zookeeper?.stop();
  });

  /** Options for a membership on the shared server; each test file run gets its own path prefix. */
  const prefix = `/roomcast-test-${randomUUID()}`;
  const options = (): ZookeeperMembershipOptions => {
    if (zookeeper === undefined) throw new Error('ZooKeeper did not start');
    return {
      connect: `127.0.0.1:${zookeeper.port}`,
      pathPrefix: prefix,
      sessionTimeoutMs: SESSION_MS,
      // How long opening and joining may take: a limit for a busy machine, not a measure (the
      // default, two sessions, is 2 s here; a loaded CI run took longer to list a job's members).
      connectTimeoutMs: 30_000,
    };
  };

  describeJobMembershipContract('zookeeper', () => ZookeeperMembership.open(options()), { shared: true });

  describe('beyond the contract', () => {
    const opened: JobMembership[] = [];
    const children: ChildProcess[] = [];
    afterEach(async () => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
      await Promise.all(opened.splice(0).map((m) => m.close()));
    });

    const joinAs = async (job: string): Promise<MembershipHandle> => {
      const membership = await ZookeeperMembership.open(options());
      opened.push(membership);
      return membership.join(job);
    };

    /** A member in a process of its own, joined when this resolves. */
    const memberProcess = async (job: string): Promise<ChildProcess> => {
      const settings = options();
      const child = spawn(process.execPath, [...typeScriptNodeArgs(), MEMBER_CHILD], {
        cwd: ROOT,
        env: {
          ...process.env,
          ZK_CONNECT: settings.connect,
          ZK_PREFIX: settings.pathPrefix,
          ZK_SESSION_MS: String(SESSION_MS),
          JOB: job,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          if (line.startsWith('joined')) resolve();
        });
        child.once('exit', () => reject(new Error(`member process exited before joining: ${stderr}`)));
      });
      return child;
    };

    it('drops a member whose process dies once its session expires', async () => {
      const job = `killed-${randomUUID()}`;
      const survivor = await joinAs(job);
      const doomed = await memberProcess(job);
      await untilPartitioned([survivor], 2);
      doomed.kill('SIGKILL');
      await untilPartitioned([survivor], 1);
    }, 30_000);

    it('fails to open when no ZooKeeper answers', async () => {
      const port = await freePort();
      await expect(
        ZookeeperMembership.open({ ...options(), connect: `127.0.0.1:${port}`, connectTimeoutMs: 500 }),
      ).rejects.toThrow(/did not answer/);
    });
  });

  describe('with its own ZooKeeper that goes away', () => {
    let own: EngineProcess | undefined;
    const opened: JobMembership[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((m) => m.close()));
      await own?.stop();
    });

    const joinOn = async (
      server: EngineProcess,
      job: string,
      sessionTimeoutMs = SESSION_MS,
    ): Promise<MembershipHandle> => {
      const membership = await ZookeeperMembership.open({
        connect: `127.0.0.1:${server.port}`,
        pathPrefix: '/roomcast/workers',
        sessionTimeoutMs,
      });
      opened.push(membership);
      return membership.join(job);
    };

    it('withdraws every view while ZooKeeper is down and registers again when it is back', async () => {
      own = await launchZookeeper();
      // Sessions of a few seconds, not 1 s: a busy machine that stalls the JVM or this process for
      // a second expires 1 s sessions over and over, and the members never settle on count 2.
      const sessionMs = 5_000;
      const handles = [
        await joinOn(own, 'online-count', sessionMs),
        await joinOn(own, 'online-count', sessionMs),
      ];
      await untilPartitioned(handles, 2);

      const port = own.port;
      await own.stop();
      await waitUntil(
        async () => handles.every((h) => h.view() === undefined),
        CONVERGE_MS,
        'views withdrawn while ZooKeeper is down',
      );

      // A new server knows none of the old sessions: the members must register from scratch.
      own = await launchZookeeper({ port });
      await untilPartitioned(handles, 2);
    }, 60_000);

    it('keeps its members across a crash and restart within the session timeout', async () => {
      own = await launchZookeeper();
      // Sessions long enough to outlive the restart: the server restores them with their nodes.
      const longSessionMs = 30_000;
      const handles = [
        await joinOn(own, 'online-count', longSessionMs),
        await joinOn(own, 'online-count', longSessionMs),
      ];
      await untilPartitioned(handles, 2);
      const before = handles.map((h) => h.view());

      const { port, dir } = own;
      await own.kill();
      await waitUntil(
        async () => handles.every((h) => h.view() === undefined),
        CONVERGE_MS,
        'views withdrawn while ZooKeeper is down',
      );
      const restarted = await launchZookeeper({ port, dir });
      own = {
        ...restarted,
        // The restart reuses the first server's temp directory: delete it with the server.
        stop: async () => {
          await restarted.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
      await untilPartitioned(handles, 2);
      expect(handles.map((h) => h.view())).toEqual(before);
    }, 60_000);
  });
});
