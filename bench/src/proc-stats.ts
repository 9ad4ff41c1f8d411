/**
 * Reads CPU time and memory of Linux processes from /proc (no guessing, no sampling libraries).
 *
 * - `/proc/<pid>/stat`: utime and stime (fields 14 and 15) in clock ticks.
 * - `/proc/<pid>/status`: VmRSS (resident now) and VmHWM (peak resident, since the process started).
 * - `/proc/stat`: the machine's aggregate CPU counters (to tell whether all cores were busy).
 * - `/proc/self/limits`: the open-files limit (Node has no getrlimit).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a process. */
export interface ProcSample {
  pid: number;
  /** User-mode CPU seconds since the process started. */
  userSec: number;
  /** Kernel-mode CPU seconds since the process started. */
  systemSec: number;
  /** userSec + systemSec. */
  cpuSec: number;
  /** Resident set size now (bytes). */
  rssBytes: number;
  /** Peak resident set size since the process started, VmHWM (bytes). */
  hwmBytes: number;
  threads: number;
  /** Parent PID. */
  ppid: number;
}

let ticksPerSecond: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), 100 on practically every Linux. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
      ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself contain spaces. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** A `Name:   value kB` line of /proc/<pid>/status, in bytes (0 when absent, e.g. for a zombie). */
function statusKb(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(status);
  return match?.[1] === undefined ? 0 : Number.parseInt(match[1], 10) * 1024;
}

/** Reads one process. Throws when it does not exist (any more). */
export function readProcStats(pid: number): ProcSample {
  const fields = statFields(pid);
  // After the comm field, index 0 is field 3 (state): ppid is field 4, utime 14, stime 15, threads 20.
  const ticks = clockTicksPerSecond();
  const userSec = Number(fields[11]) / ticks;
  const systemSec = Number(fields[12]) / ticks;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    pid,
    userSec,
    systemSec,
    cpuSec: userSec + systemSec,
    rssBytes: statusKb(status, 'VmRSS'),
    hwmBytes: statusKb(status, 'VmHWM'),
    threads: Number(fields[17]),
    ppid: Number(fields[1]),
  };
}

/** Like readProcStats, but undefined when the process is gone. */
export function tryReadProcStats(pid: number): ProcSample | undefined {
  try {
    return readProcStats(pid);
  } catch {
    return undefined;
  }
}

/** PIDs of all live descendants of `pid` (children, grandchildren …). */
export function descendantPids(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parentOf.set(Number(entry), Number(statFields(Number(entry))[1]));
    } catch {
      // The process exited while we were scanning.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** A process and its descendants, summed (peak RSS is the sum of each process's VmHWM: an upper bound). */
export interface TreeSample {
  pids: number[];
  cpuSec: number;
  rssBytes: number;
  hwmBytes: number;
}

/** Reads `pid` and all its descendants. Throws when `pid` itself is gone. */
export function readTreeStats(pid: number): TreeSample {
  const root = readProcStats(pid);
  const sample: TreeSample = {
    pids: [pid],
    cpuSec: root.cpuSec,
    rssBytes: root.rssBytes,
    hwmBytes: root.hwmBytes,
  };
  for (const child of descendantPids(pid)) {
    const stats = tryReadProcStats(child);
    if (stats === undefined) continue;
    sample.pids.push(child);
    sample.cpuSec += stats.cpuSec;
    sample.rssBytes += stats.rssBytes;
    sample.hwmBytes += stats.hwmBytes;
  }
  return sample;
}

/** The machine's aggregate CPU counters from the first line of /proc/stat, in seconds (all cores summed). */
export interface SystemCpuSample {
  /** total − idle − iowait. */
  busySec: number;
  totalSec: number;
  /** user + nice + system: time charged to processes (and kernel threads). */
  processSec: number;
  /** irq + softirq: interrupt work, e.g. loopback TCP receive processing, charged to no process. */
  irqSec: number;
  /** Time the hypervisor gave to someone else. */
  stealSec: number;
}

/** Reads /proc/stat. */
export function readSystemCpu(): SystemCpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const at = (index: number): number => (values[index] ?? 0) / clockTicksPerSecond();
  // user nice system idle iowait irq softirq steal (guest time is already counted in user/nice).
  const totalSec = [0, 1, 2, 3, 4, 5, 6, 7].reduce((sum, index) => sum + at(index), 0);
  return {
    busySec: totalSec - at(3) - at(4),
    totalSec,
    processSec: at(0) + at(1) + at(2),
    irqSec: at(5) + at(6),
    stealSec: at(7),
  };
}

/** Fraction (0..1) of all cores' time that was busy between two readings. */
export function systemBusyFraction(before: SystemCpuSample, after: SystemCpuSample): number {
  const total = after.totalSec - before.totalSec;
  return total > 0 ? (after.busySec - before.busySec) / total : 0;
}

/** The open-files limit of `pid` (default: this process), from /proc/<pid>/limits. */
export function readFdLimit(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const parse = (value: string | undefined): number =>
    value === undefined || value === 'unlimited' ? Number.POSITIVE_INFINITY : Number.parseInt(value, 10);
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

/** CPU seconds of every process on the machine, with its command line (first 100 characters). */
export function readAllProcessCpu(): Map<number, { command: string; cpuSec: number }> {
  const result = new Map<number, { command: string; cpuSec: number }>();
  const ticks = clockTicksPerSecond();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const fields = statFields(pid);
      const cpuSec = (Number(fields[11]) + Number(fields[12])) / ticks;
      let command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (command === '') {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        command = `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`;
      }
      result.set(pid, { command: command.slice(0, 100), cpuSec });
    } catch {
      // Exited while scanning.
    }
  }
  return result;
}

/** Processes not in `exclude` that used the most CPU between two readAllProcessCpu snapshots. */
export function topCpuConsumers(
  before: Map<number, { command: string; cpuSec: number }>,
  after: Map<number, { command: string; cpuSec: number }>,
  exclude: ReadonlySet<number>,
  limit = 3,
): Array<{ pid: number; command: string; cpuSec: number }> {
  const deltas: Array<{ pid: number; command: string; cpuSec: number }> = [];
  for (const [pid, now] of after) {
    if (exclude.has(pid)) continue;
    const cpuSec = now.cpuSec - (before.get(pid)?.cpuSec ?? 0);
    if (cpuSec > 0) deltas.push({ pid, command: now.command, cpuSec: Math.round(cpuSec * 100) / 100 });
  }
  return deltas.sort((a, b) => b.cpuSec - a.cpuSec).slice(0, limit);
}
