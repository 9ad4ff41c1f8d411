import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  JobMembership,
  MembershipHandle,
  MembershipView,
} from '../../src/core/ports/worker-membership.ts';
import { waitUntil } from '../helpers/engine-process.ts';

export interface JobMembershipContractOptions {
  /**
   * Several processes (several `make()` results) form one membership. False for the embedded
   * single member, where every process is alone in every job.
   */
  shared: boolean;
}

/** How long a membership change may take to reach every member. */
// A deadline for convergence only, generous for a loaded machine (a JVM restart under load).
const CONVERGE_MS = 30_000;

/** A job name no other test uses, so tests never see each other's members. */
function newJob(): string {
  return `contract-${randomUUID()}`;
}

/** The views of `handles`, in order. */
function views(handles: readonly MembershipHandle[]): Array<MembershipView | undefined> {
  return handles.map((h) => h.view());
}

/** Waits until every handle sees `count` members and the indexes are exactly 0 … count-1. */
export async function untilPartitioned(handles: readonly MembershipHandle[], count: number): Promise<void> {
  await waitUntil(
    async () => {
      const seen = views(handles);
      if (seen.some((v) => v === undefined || v.count !== count)) return false;
      const indexes = seen.map((v) => v?.index).sort();
      return indexes.every((index, i) => index === i);
    },
    CONVERGE_MS,
    `${handles.length} members seeing count ${count} (views: ${JSON.stringify(views(handles))})`,
  );
}

/**
 * The JobMembership contract (core/ports/worker-membership.ts). `make` opens one process's
 * membership (one session); the suite closes what it made. Every test uses a job of its own.
 */
export function describeJobMembershipContract(
  adapterName: string,
  make: () => Promise<JobMembership>,
  options: JobMembershipContractOptions,
): void {
  describe(`JobMembership contract (${adapterName})`, () => {
    // Several members of one job only exist on a shared store; the single member skips these.
    const sharedIt = options.shared ? it : it.skip;
    const opened: JobMembership[] = [];
    const open = async (): Promise<JobMembership> => {
      const membership = await make();
      opened.push(membership);
      return membership;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((m) => m.close()));
    });

    it('gives a joined member a view at once, with 0 <= index < count', async () => {
      const handle = await (await open()).join(newJob());
      const view = handle.view();
      expect(view).toBeDefined();
      expect(view?.index).toBeGreaterThanOrEqual(0);
      expect(view?.index).toBeLessThan(view?.count ?? 0);
    });

    it('withdraws the view on leave, tells the listeners, and leaves only once', async () => {
      const handle = await (await open()).join(newJob());
      const seen: Array<MembershipView | undefined> = [];
      handle.onChange((view) => seen.push(view));
      await handle.leave();
      await handle.leave();
      expect(handle.view()).toBeUndefined();
      expect(seen).toEqual([undefined]);
    });

    it('stops calling a listener once it is removed', async () => {
      const handle = await (await open()).join(newJob());
      const seen: Array<MembershipView | undefined> = [];
      const stop = handle.onChange((view) => seen.push(view));
      stop();
      await handle.leave();
      expect(seen).toEqual([]);
    });

    it('keeps the jobs of one process independent: leaving one keeps the other', async () => {
      const membership = await open();
      const first = await membership.join(newJob());
      const second = await membership.join(newJob());
      await first.leave();
      expect(second.view()).toEqual({ index: 0, count: 1 });
    });

    it('withdraws every view on close', async () => {
      const membership = await open();
      const handles = [await membership.join(newJob()), await membership.join(newJob())];
      await membership.close();
      expect(views(handles)).toEqual([undefined, undefined]);
    });

    sharedIt('gives three members of a job count 3 and the indexes 0, 1 and 2', async () => {
      const job = newJob();
      const handles = [
        await (await open()).join(job),
        await (await open()).join(job),
        await (await open()).join(job),
      ];
      await untilPartitioned(handles, 3);
    });

    sharedIt('recomputes the others when a member leaves: count 2, indexes 0 and 1', async () => {
      const job = newJob();
      const handles = [
        await (await open()).join(job),
        await (await open()).join(job),
        await (await open()).join(job),
      ];
      await untilPartitioned(handles, 3);
      const [first, ...rest] = handles;
      await first?.leave();
      await untilPartitioned(rest, 2);
    });

    sharedIt('recomputes the others when a member process closes its membership', async () => {
      const job = newJob();
      const leaving = await open();
      const handles = [
        await leaving.join(job),
        await (await open()).join(job),
        await (await open()).join(job),
      ];
      await untilPartitioned(handles, 3);
      await leaving.close();
      await untilPartitioned(handles.slice(1), 2);
    });

    sharedIt('counts a late joiner in: everyone moves to count 2', async () => {
      const job = newJob();
      const first = await (await open()).join(job);
      expect(first.view()).toEqual({ index: 0, count: 1 });
      const second = await (await open()).join(job);
      await untilPartitioned([first, second], 2);
    });

    sharedIt('counts only the members of the same job', async () => {
      const job = newJob();
      const member = await (await open()).join(job);
      await (await open()).join(newJob());
      const sameJob = await (await open()).join(job);
      await untilPartitioned([member, sameJob], 2);
    });
  });
}
