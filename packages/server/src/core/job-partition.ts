import type { MembershipView } from './ports/worker-membership.ts';
import { stableHash32 } from './stable-hash.ts';

/**
 * The partition (0 … count-1) a key belongs to: a stable hash of the key modulo `count`, the same
 * in every process and every version, so all members of a job agree on who owns what.
 */
export function partitionOf(key: string, count: number): number {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`partition count must be ≥ 1, got ${count}`);
  return stableHash32(key) % count;
}

/** True when the member with `view` owns `key`; no view owns nothing. */
export function ownsKey(view: MembershipView | undefined, key: string): boolean {
  return view !== undefined && partitionOf(key, view.count) === view.index;
}

/** Two views are the same membership position (both absent, or equal index and count). */
export function sameView(a: MembershipView | undefined, b: MembershipView | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.index === b.index && a.count === b.count);
}
