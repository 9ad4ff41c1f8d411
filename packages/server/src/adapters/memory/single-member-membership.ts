import type { JobMembership, MembershipHandle, MembershipView } from '../../core/ports/worker-membership.ts';

const ONLY: MembershipView = Object.freeze({ index: 0, count: 1 });

/**
 * The embedded coordination store (`roomcast dev`): this process is the only member of every job,
 * so it owns every partition. Running two processes on it duplicates the jobs' work.
 */
export class SingleMemberMembership implements JobMembership {
  private readonly handles = new Set<MembershipHandle>();

  async join(job: string): Promise<MembershipHandle> {
    let current: MembershipView | undefined = ONLY;
    const listeners = new Set<(view: MembershipView | undefined) => void>();
    const handle: MembershipHandle = {
      job,
      view: () => current,
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      leave: async () => {
        if (current === undefined) return;
        current = undefined;
        this.handles.delete(handle);
        for (const listener of [...listeners]) listener(undefined);
      },
    };
    this.handles.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles].map((h) => h.leave()));
  }
}
