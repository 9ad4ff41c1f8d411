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
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const task = new PeriodicTask(60_000, async () => {
      await gate;
      finished = true;
    });
    void task.tick();
    let stopped = false;
    const stopping = task.stop().then(() => {
      stopped = true;
    });
    // However long the run takes, stop is still waiting for it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
  });
});
