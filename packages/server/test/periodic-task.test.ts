import { describe, expect, it } from 'vitest';
import { PeriodicTask } from '../src/core/periodic-task.ts';

describe('PeriodicTask', () => {
  it('skips a tick while a run is in progress instead of running twice', async () => {
    let release: () => void = () => {};
    let runs = 0;
    const task = new PeriodicTask(60_000, async () => {
      runs++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return runs;
    });
    const first = task.tick();
    expect(await task.tick()).toBeUndefined();
    release();
    expect(await first).toBe(1);
    expect(runs).toBe(1);
  });

  it('stop waits for the run in progress', async () => {
    let finished = false;
    const task = new PeriodicTask(60_000, async () => {
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    });
    void task.tick();
    await task.stop();
    expect(finished).toBe(true);
  });
});
