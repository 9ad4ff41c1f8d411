import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RoomcastMetrics } from '../src/observability/metrics.ts';

// The files of deploy/: the alert rules pass promtool (syntax and their unit tests), and every
// metric the rules and the Grafana dashboard name is one the server exports, as its registry
// says at runtime — so renaming a metric without updating them fails here.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/roomcast-rules.yml');
const RULE_TESTS = join(ROOT, 'deploy/prometheus/roomcast-rules.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/roomcast-dashboard.json');

/** Series Prometheus itself makes, not roomcast. */
const PROMETHEUS_SERIES: ReadonlySet<string> = new Set(['up']);

/** promtool from PATH or /usr/bin; throws (the test fails, it does not skip) naming the package. */
function promtool(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin'];
  for (const dir of dirs) {
    const file = join(dir, 'promtool');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(
    'promtool not found on PATH or in /usr/bin: install the Debian package `prometheus` (apt-get install -y prometheus)',
  );
}

async function runPromtool(args: string[]): Promise<string> {
  const file = promtool();
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd: ROOT });
    return stdout + stderr;
  } catch (err) {
    const { stdout, stderr, message } = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed: ${message}\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Every series name the server's registry can export (a histogram's `_bucket`, `_sum`, `_count` too). */
async function exportedSeries(): Promise<Set<string>> {
  const metrics = new RoomcastMetrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

const PROMQL_KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
  'group_left',
  'group_right',
]);

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers, range
 * and subquery brackets, label lists (`by (…)`, `on (…)` …), numbers, durations and Grafana
 * variables are taken out, minus function calls and keywords.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+|ms|[smhdwy])?\b/gi, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const after = bare.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

/**
 * The `expr` of every rule of a Prometheus rules file: inline (`expr: up == 0`) or a block scalar
 * (`expr: |` and the lines indented under it). Checked against the count of rules, so a form this
 * reader does not know fails the test rather than being skipped.
 */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const exprs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*)expr:\s*(.*)$/.exec(lines[i] as string);
    if (match === null) continue;
    const [, indent = '', value = ''] = match;
    if (/^[|>][-+]?$/.test(value)) {
      const block: string[] = [];
      while (
        i + 1 < lines.length &&
        ((lines[i + 1] as string).trim() === '' || leading(lines[i + 1]) > indent.length)
      ) {
        block.push((lines[++i] as string).trim());
      }
      exprs.push(block.join(' ').trim());
    } else {
      exprs.push(value.replace(/^(['"])(.*)\1$/, '$2'));
    }
  }
  const rules = lines.filter((l) => /^\s*-\s*(alert|record):/.test(l)).length;
  expect(exprs).toHaveLength(rules);
  return exprs;
}

function leading(line: string | undefined): number {
  return (line ?? '').length - (line ?? '').trimStart().length;
}

interface DashboardPanel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: DashboardPanel[];
}

function dashboardExpressions(panels: readonly DashboardPanel[]): string[] {
  return panels.flatMap((p) => [
    ...(p.targets ?? []).map((t) => t.expr ?? ''),
    ...dashboardExpressions(p.panels ?? []),
  ]);
}

/** The names of `exprs` that neither roomcast nor Prometheus export, with the expression naming them. */
function unknownNames(exprs: readonly string[], exported: ReadonlySet<string>): string[] {
  return exprs.flatMap((expr) =>
    metricNamesIn(expr)
      .filter((name) => !exported.has(name) && !PROMETHEUS_SERIES.has(name))
      .map((name) => `${name} (in ${expr})`),
  );
}

describe('deploy/prometheus/roomcast-rules.yml', () => {
  it('passes `promtool check rules`', async () => {
    expect(await runPromtool(['check', 'rules', RULES])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes its unit tests (`promtool test rules`)', async () => {
    expect(await runPromtool(['test', 'rules', RULE_TESTS])).toContain('SUCCESS');
  });

  it('names only metrics the server exports', async () => {
    const exprs = ruleExpressions(readFileSync(RULES, 'utf8'));
    expect(exprs.length).toBeGreaterThan(10);
    expect(unknownNames(exprs, await exportedSeries())).toEqual([]);
    // The alerts the deployment relies on are there.
    const named = new Set(exprs.flatMap(metricNamesIn));
    for (const name of [
      'up',
      'roomcast_settler_last_success_timestamp_seconds',
      'roomcast_settler_runs_total',
      'roomcast_dropped_events_total',
      'roomcast_connection_closes_total',
      'roomcast_engine_errors_total',
      'roomcast_gift_events_published_total',
    ])
      expect(named).toContain(name);
  });
});

describe('deploy/grafana/roomcast-dashboard.json', () => {
  it('names only metrics the server exports', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      title: string;
      panels: DashboardPanel[];
    };
    expect(dashboard.title).toBe('roomcast');
    const exprs = dashboardExpressions(dashboard.panels);
    expect(exprs.length).toBeGreaterThan(20);
    expect(exprs.filter((e) => e.trim() === '')).toEqual([]);
    expect(unknownNames(exprs, await exportedSeries())).toEqual([]);
  });
});

describe('metricNamesIn', () => {
  it('finds the selected metrics and leaves out functions, labels, ranges, numbers and variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{status=~"5.."}[$__rate_interval]))) ' +
          '/ on (job) group_left up > 1e3 and time() - b_total offset 5m',
      ),
    ).toEqual(['a_seconds_bucket', 'up', 'b_total']);
  });
});
