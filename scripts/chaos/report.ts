/** The Markdown summary of a chaos run, and writing it into docs/reliability.md between markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { WindowStats } from './workload.ts';

export interface FaultRow {
  label: string;
  target: string;
  pid: number | undefined;
  error?: string;
  /** Milliseconds from the fault until the new PID showed in the machine line. */
  restartedMs?: number;
  firstAckMs?: number;
  lastFailureMs?: number;
  /** Undefined when no viewer lost its connection. */
  rejoinedMs?: number;
  recovered: boolean;
  recoveryMs: number;
  notRejoined: number;
  stats: WindowStats;
  lost: number;
  storedTwice: number;
  ackMismatch: number;
  /** Processes other than the target that got a new PID in this window. */
  otherCrashes: string[];
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function failures(stats: WindowStats): string {
  const parts = [...stats.failures.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function faultTable(rows: readonly FaultRow[]): string {
  const head = [
    'fault',
    'target (pid)',
    'restarted after',
    'first ack after',
    'last failed publish',
    'viewers rejoined after',
    'not rejoined',
    'comments acked / published',
    'gave up',
    'failed attempts by status',
    'lost',
    'stored twice',
    'delivered twice',
    'out of order',
    'resets',
    'other processes restarted',
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    const st = row.stats;
    const total = row.target === '—' && row.label.startsWith('**');
    lines.push(
      `| ${[
        row.label + (row.error === undefined ? '' : ` (**not injected**: ${row.error})`),
        `${row.target} (${row.pid ?? '—'})`,
        s(row.restartedMs),
        s(row.firstAckMs),
        total ? '—' : row.lastFailureMs === undefined ? 'none' : s(row.lastFailureMs),
        total ? '—' : row.rejoinedMs === undefined ? 'no drop' : s(row.rejoinedMs),
        row.recovered ? String(row.notRejoined) : `**${row.notRejoined}** (deadline)`,
        `${st.acked} / ${st.published}`,
        String(st.gaveUp),
        failures(st),
        String(row.lost),
        String(row.storedTwice),
        String(st.duplicates),
        String(st.outOfOrder),
        String(st.resets),
        row.otherCrashes.length === 0 ? 'none' : `**${row.otherCrashes.join(', ')}**`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function checksList(checks: readonly Check[]): string {
  return checks.map((c) => `- ${c.ok ? 'ok' : '**FAILED**'} — ${c.name}: ${c.detail}`).join('\n');
}

/** Replaces what is between the markers of `path` with `section` (appends markers when missing). */
export function writeDocsSection(path: string, section: string, marker = 'chaos'): void {
  const BEGIN = `<!-- ${marker}:begin -->`;
  const END = `<!-- ${marker}:end -->`;
  const text = readFileSync(path, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin + BEGIN.length)}\n${section.trim()}\n${text.slice(end)}`
      : `${text.trimEnd()}\n\n${BEGIN}\n${section.trim()}\n${END}\n`;
  writeFileSync(path, next);
}
