import { onTestFailed, onTestFinished } from 'vitest';

/**
 * Waiting for a condition instead of sleeping a fixed time. There is no deadline of its own: the
 * test's timeout (vitest's `testTimeout`) ends a wait that never comes true, so a busy machine only
 * makes a test slower, never red. When the test fails while a wait is pending, the wait says what
 * it was waiting for and what it last saw; when the test is over, the wait stops polling.
 */

/** How often a condition is checked: fast enough to add little latency, cheap enough to cost nothing. */
const POLL_INTERVAL_MS = 10;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Raised in a wait whose test is over (timed out or failed elsewhere); nobody awaits it any more. */
class WaitAbandoned extends Error {
  override readonly name = 'WaitAbandoned';
}

/**
 * Resolves once `check` returns true (or a promise of true). `what` names the condition; `seen`
 * (optional) describes what was last observed, for the failure report.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { seen?: () => unknown } = {},
): Promise<void> {
  let over = false;
  let pending = true;
  try {
    onTestFinished(() => {
      over = true;
    });
    onTestFailed(() => {
      if (!pending) return;
      const seen = options.seen === undefined ? '' : `; last seen: ${describe(options.seen)}`;
      console.error(`still waiting for ${what}${seen}`);
    });
  } catch {
    // Outside a test (a beforeAll hook): the hook's own timeout is the deadline.
  }
  try {
    for (;;) {
      if (await check()) return;
      if (over) throw new WaitAbandoned(`the test ended while waiting for ${what}`);
      await pause(POLL_INTERVAL_MS);
    }
  } finally {
    pending = false;
  }
}

/** Resolves with the first value `read` returns that is not undefined. */
export async function eventuallyValue<T>(
  what: string,
  read: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  let value: T | undefined;
  await eventually(what, async () => {
    value = await read();
    return value !== undefined;
  });
  return value as T;
}

function describe(seen: () => unknown): string {
  try {
    return JSON.stringify(seen());
  } catch (error) {
    return `(could not describe: ${(error as Error).message})`;
  }
}

/** Calls `attempt` until it resolves (it may reject meanwhile, e.g. while something settles). */
export async function retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  let lastError: unknown;
  await eventually(
    what,
    async () => {
      try {
        result = { value: await attempt() };
        return true;
      } catch (error) {
        lastError = error;
        return false;
      }
    },
    { seen: () => (lastError instanceof Error ? lastError.message : String(lastError)) },
  );
  return (result as { value: T }).value;
}
