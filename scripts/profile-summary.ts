/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) in text, for docs/performance.md: where a window
 * of the run went, by function, and its longest busy stretches (what stalls the event loop).
 *
 *   npm run profile:summary -- <file.cpuprofile> [--from S] [--to S] [--top N] [--stretches N]
 *
 * `--from`/`--to` keep the samples between S seconds after the profile started (e.g. only the
 * measured window of a benchmark). Self time is where a sample was; inclusive time counts a sample
 * once for every distinct function on its stack (async continuations start a new stack, so an
 * `await`ed engine call is charged to its own frames, not to the caller's).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A frame's name as the summary prints it: function and a short location. */
function frameName(frame: CallFrame): string {
  const url = frame.url.replace(/.*node_modules\//, '').replace(/.*\/packages\//, '');
  return `${frame.functionName || '(anonymous)'} ${url}${url === '' ? '' : `:${frame.lineNumber + 1}`}`;
}

function top(entries: Map<string, number>, count: number): string[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => `${(micros / 1000).toFixed(0).padStart(8)} ms  ${name}`);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string', default: '0' },
      to: { type: 'string', default: 'Infinity' },
      top: { type: 'string', default: '30' },
      stretches: { type: 'string', default: '5' },
    },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: profile-summary <file.cpuprofile> [--from S] [--to S]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const from = Number(values.from) * 1e6;
  const to = Number(values.to) * 1e6;
  const count = Number(values.top);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const idle = (id: number) => nodes.get(id)?.callFrame.functionName === '(idle)';
  const stack = (id: number): string[] => {
    const names: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = nodes.get(at);
      if (node !== undefined) names.push(frameName(node.callFrame));
    }
    return names;
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const stretches: Array<{ start: number; micros: number; ids: number[] }> = [];
  let current: { start: number; micros: number; ids: number[] } | undefined;
  let at = 0;
  let windowMicros = 0;
  let busyMicros = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const id = profile.samples[i] as number;
    if (at < from || at > to) continue;
    windowMicros += delta;
    if (idle(id)) {
      if (current !== undefined) stretches.push(current);
      current = undefined;
      continue;
    }
    busyMicros += delta;
    current ??= { start: at, micros: 0, ids: [] };
    current.micros += delta;
    current.ids.push(id);
    const names = stack(id);
    const first = names[0];
    if (first !== undefined) self.set(first, (self.get(first) ?? 0) + delta);
    for (const name of new Set(names)) inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
  }
  if (current !== undefined) stretches.push(current);

  const seconds = (micros: number) => (micros / 1e6).toFixed(2);
  console.log(
    `window ${seconds(windowMicros)} s, busy ${seconds(busyMicros)} s (${((busyMicros / windowMicros) * 100).toFixed(0)} %)`,
  );
  console.log('\nself time');
  for (const line of top(self, count)) console.log(line);
  console.log('\ninclusive time');
  for (const line of top(inclusive, count)) console.log(line);
  console.log('\nlongest busy stretches (event loop blocked)');
  for (const stretch of stretches.sort((a, b) => b.micros - a.micros).slice(0, Number(values.stretches))) {
    const frames = new Map<string, number>();
    for (const id of stretch.ids)
      for (const name of new Set(stack(id))) frames.set(name, (frames.get(name) ?? 0) + 1);
    const heaviest = [...frames]
      .filter(([name]) => !name.startsWith('(root)') && !name.startsWith('(program)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([name]) => name)
      .join(' | ');
    console.log(
      `${(stretch.micros / 1000).toFixed(0).padStart(6)} ms at +${seconds(stretch.start)} s: ${heaviest}`,
    );
  }
}

main();
