import { setTimeout as sleep } from 'node:timers/promises';

/** Busy-machine stretches tolerated before a refresh test gives up. */
const ATTEMPTS = 5;

/** One run of a refresh test, on keys of its own. */
export interface RefreshRun<T> {
  /** Writes with the TTL. */
  write(): Promise<void>;
  /** Writes again, half a TTL later: this must keep what `write` wrote. */
  refresh(): Promise<void>;
  /** Reads once the first write's own TTL has surely lapsed. */
  check(): Promise<T>;
}

/**
 * Runs a TTL refresh scenario: `write()`, `refresh()` half a TTL later, then `check()` once the
 * first write's TTL has surely lapsed (so only the refresh can have kept the data). The check
 * says something only when it also finished before the refresh's own TTL could lapse; a run that
 * a busy machine stretched past that window is repeated with fresh keys rather than judged.
 */
export async function afterRefresh<T>(ttlMs: number, scenario: () => RefreshRun<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const run = scenario();
    await run.write();
    const written = performance.now();
    await sleep(ttlMs / 2);
    const refreshSent = performance.now();
    await run.refresh();
    const lapse = written + ttlMs + 10 - performance.now();
    if (lapse > 0) await sleep(lapse);
    const result = await run.check();
    if (performance.now() < refreshSent + ttlMs) return result;
    if (attempt === ATTEMPTS) {
      throw new Error(`the machine stretched all ${ATTEMPTS} refresh runs past their ${ttlMs} ms TTL window`);
    }
  }
}
