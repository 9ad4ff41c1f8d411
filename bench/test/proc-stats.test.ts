import { describe, expect, it } from 'vitest';
import {
  clockTicksPerSecond,
  readFdLimit,
  readProcStats,
  readSystemCpu,
  readTreeStats,
  systemBusyFraction,
  tryReadProcStats,
} from '../src/proc-stats.ts';

/**
 * Spins until this process has used `ms` milliseconds of CPU time (not of wall time: on a busy
 * machine the same wall time buys less CPU).
 */
function burn(ms: number): void {
  const start = process.cpuUsage();
  const used = () => {
    const { user, system } = process.cpuUsage(start);
    return (user + system) / 1000;
  };
  let x = 0;
  while (used() < ms) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
  expect(x).toBeGreaterThan(0);
}

describe('proc-stats', () => {
  it('reads sane CPU and memory of its own process', () => {
    const before = readProcStats(process.pid);
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    expect(before.pid).toBe(process.pid);
    expect(before.ppid).toBe(process.ppid);
    expect(before.threads).toBeGreaterThanOrEqual(1);
    expect(before.cpuSec).toBeCloseTo(before.userSec + before.systemSec, 9);
    // A Node process is resident with more than 10 MiB and less than the machine.
    expect(before.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(before.rssBytes).toBeLessThan(64 * 1024 ** 3);
    expect(before.hwmBytes).toBeGreaterThanOrEqual(before.rssBytes);

    burn(300);
    const after = readProcStats(process.pid);
    const used = after.cpuSec - before.cpuSec;
    expect(used).toBeGreaterThan(0.1);
    expect(used).toBeLessThan(5);
    // Node's own view of its CPU time agrees with /proc within a few ticks.
    const usage = process.cpuUsage();
    expect(Math.abs((usage.user + usage.system) / 1e6 - after.cpuSec)).toBeLessThan(0.5);
  });

  it('sums a process tree that contains this process', () => {
    const tree = readTreeStats(process.ppid);
    expect(tree.pids).toContain(process.pid);
    expect(tree.hwmBytes).toBeGreaterThanOrEqual(readProcStats(process.pid).hwmBytes);
  });

  it('reads machine CPU counters and the fd limit, and tolerates a missing pid', () => {
    const a = readSystemCpu();
    burn(100);
    const b = readSystemCpu();
    expect(b.totalSec).toBeGreaterThan(a.totalSec);
    const busy = systemBusyFraction(a, b);
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(1);
    const limit = readFdLimit();
    expect(limit.soft).toBeGreaterThan(0);
    expect(limit.hard).toBeGreaterThanOrEqual(limit.soft);
    expect(tryReadProcStats(2 ** 22 + 12345)).toBeUndefined();
  });
});
