/**
 * The benchmark's one clock: CLOCK_MONOTONIC via `process.hrtime.bigint()`, in microseconds.
 *
 * On Linux every process on the machine reads the same monotonic clock, so a timestamp taken by
 * the publisher (the orchestrator) can be subtracted from one taken by a client worker process.
 * Unlike `Date.now()` it never jumps with NTP, and unlike `performance.timeOrigin` it does not
 * depend on when each process started. Values are microseconds since boot (safe integers).
 */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves at (or just after) the monotonic time `atMicros`. */
export async function sleepUntil(atMicros: number): Promise<void> {
  const waitMs = (atMicros - nowMicros()) / 1000;
  if (waitMs > 0.5) await sleep(Math.floor(waitMs));
}
