/**
 * A member's view of one sharded job: `count` members are registered and this one is the
 * `index`-th (0-based) in the order every member sees, so each can take its own partition of
 * the work (see core/job-partition.ts) without talking to the others.
 */
export interface MembershipView {
  readonly index: number;
  readonly count: number;
}

/**
 * One worker's registration in a job's membership, from `JobMembership.join`.
 *
 * Guarantees (job membership contract suite):
 * - `view()` is `undefined` whenever this member cannot be sure of the membership: before it is
 *   registered, while its coordination session is disconnected or expired, and after `leave`.
 *   A job must process nothing then: a member that might have been dropped must not keep working
 *   on a partition someone else may already have taken over.
 * - Otherwise `0 <= index < count`, and members whose views are up to date have distinct indexes
 *   and the same count. Views change one member at a time and converge: after a join, a leave or
 *   the expiry of a dead member's session, every connected member sees the new membership within
 *   the engine's notification delay. In between two members may briefly disagree, so a sharded
 *   job must tolerate one duplicate or one skipped round during a change.
 * - A member that dies without leaving stays counted (its partition unprocessed) until its session
 *   expires on the coordination service; a member that leaves is removed at once.
 * - After a lost session the member registers again by itself, as a new member (possibly with a
 *   new index), as soon as the coordination service is reachable again.
 * - `onChange` is called with every new view (including `undefined`), in order, never for a view
 *   equal to the previous one.
 */
export interface MembershipHandle {
  /** The job this handle is a member of. */
  readonly job: string;
  /** The current view, or `undefined` when this member must not process anything. */
  view(): MembershipView | undefined;
  /** Calls `listener` on each change of `view()`; returns a function that stops it. */
  onChange(listener: (view: MembershipView | undefined) => void): () => void;
  /** Deregisters at once (the others recompute); `view()` is `undefined` from now on. Idempotent. */
  leave(): Promise<void>;
}

/**
 * JobMembership: who runs a sharded job (the `coordination` store). The embedded adapter is a
 * single member; the production one registers ephemeral sequential nodes in ZooKeeper.
 *
 * The adapter owns its connection (one session shared by all jobs of the process); `close`
 * leaves every job and releases it.
 */
export interface JobMembership {
  /**
   * Registers this process as a member of `job` (a name of [A-Za-z0-9_-]). Resolves once the
   * first view is known; rejects when the coordination service cannot be reached at all.
   */
  join(job: string): Promise<MembershipHandle>;
  /** Leaves every job and closes the connection. Idempotent. */
  close(): Promise<void>;
}
