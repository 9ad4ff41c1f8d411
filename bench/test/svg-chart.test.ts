import { describe, expect, it } from 'vitest';
import { compactNumber, escapeXml, renderBarPanels, renderScenarioChart } from '../src/svg-chart.ts';
import { phase, scenarioResult, systemRun } from './scenario-fixtures.ts';

/** Checks that every element is closed in order (enough for our generated SVG: no comments, no CDATA). */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing === '/') continue;
    if (closing === '/') {
      if (stack.pop() !== name) return false;
    } else stack.push(name ?? '');
  }
  return stack.length === 0 && !/&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/.test(svg);
}

describe('renderScenarioChart', () => {
  const result = scenarioResult('huge-room', [
    systemRun('roomcast', [phase(1, 10_000, 30, 70), phase(50, 480_000, 60, 120)]),
    systemRun('socketio', [phase(1, 10_000, 40, 90), phase(50, 42_000, 29_000, 57_000)]),
    systemRun('nchan', [phase(1, 10_000, 20, 50)]),
  ]);
  const svg = renderScenarioChart(result);

  it('is a well-formed SVG document', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg)).toBe(true);
  });

  it('draws one bar per system and rate for throughput, and p50 and p99 per system and rate', () => {
    const bars = svg.match(/<rect class="bar"/g) ?? [];
    // 5 throughput bars + 10 latency bars (nchan has no 50/s window).
    expect(bars).toHaveLength(15);
    expect(svg).toContain('>480k<');
    expect(svg).toContain('>57 s<');
  });

  it('names the systems in a legend and the scenario in the title', () => {
    for (const name of ['roomcast', 'socketio', 'nchan']) expect(svg).toContain(`>${name}<`);
    expect(svg).toContain('roomcast benchmark: huge-room');
  });
});

describe('renderBarPanels', () => {
  it('escapes text', () => {
    const svg = renderBarPanels('a < b & c', '"quoted"', [
      { title: 'x', series: ['s<1>'], groups: [{ label: 'g&', values: [1] }], logScale: false },
    ]);
    expect(svg).toContain('a &#60; b &#38; c');
    expect(wellFormed(svg)).toBe(true);
  });

  it('draws nothing for a missing value and stays well-formed with a log axis', () => {
    const svg = renderBarPanels('t', 's', [
      { title: 'x', series: ['a', 'b'], groups: [{ label: 'g', values: [0.5, undefined] }], logScale: true },
    ]);
    expect(wellFormed(svg)).toBe(true);
  });
});

describe('compactNumber and escapeXml', () => {
  it('abbreviates thousands and millions', () => {
    expect(compactNumber(1234)).toBe('1.23k');
    expect(compactNumber(250_000)).toBe('250k');
    expect(compactNumber(2_500_000)).toBe('2.5M');
    expect(compactNumber(0.5)).toBe('0.5');
  });

  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<&>"'`)).toBe('&#60;&#38;&#62;&#34;&#39;');
  });
});
