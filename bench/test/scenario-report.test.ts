import { describe, expect, it } from 'vitest';
import { ratio, renderScenarioMarkdown, scenarioNotes } from '../src/scenario-report.ts';
import { latency, phase, scenarioResult, systemRun } from './scenario-fixtures.ts';

describe('ratio', () => {
  it('prints two decimals near 1, whole numbers from 10, and fractions below 0.1', () => {
    expect(ratio(3.04, 1)).toBe('3.04×');
    expect(ratio(250, 10)).toBe('25×');
    expect(ratio(1, 329)).toBe('1/329×');
  });

  it('says "–" when the peer has no figure', () => {
    expect(ratio(1, 0)).toBe('–');
    expect(ratio(1, Number.NaN)).toBe('–');
  });
});

describe('renderScenarioMarkdown', () => {
  const result = scenarioResult('huge-room', [
    systemRun('roomcast', [phase(50, 500_000, 60, 120)]),
    systemRun('socketio', [phase(50, 40_000, 20_000, 50_000)]),
  ]);
  const markdown = renderScenarioMarkdown(result);

  it('states the exact command and the machine', () => {
    expect(markdown).toContain('- command: `npm run bench -- huge-room`');
    expect(markdown).toContain('2 cores (Test CPU), 23.5 GiB');
  });

  it('lists each system with its absolute figures', () => {
    expect(markdown).toMatch(
      /\| roomcast \| 50 \| 1 \| 1,000 \| .* \| 500,000 \| 60\.0 \| 120 \| 120 \| 120 \| 120 \|/,
    );
    expect(markdown).toMatch(/\| socketio \| 50 \| .* \| 40,000 \| 20,000 \|/);
  });

  it('gives roomcast ÷ peer ratios per rate', () => {
    expect(markdown).toContain(
      '| roomcast / socketio | 50 | 13× | 1/333× | 1/417× | 1.00× | 1.00× | 1.00× |',
    );
  });

  it('renders tables whose rows all have as many cells as the header', () => {
    const tables = markdown.split('\n\n').filter((block) => block.startsWith('| '));
    expect(tables.length).toBeGreaterThan(2);
    for (const block of tables) {
      const widths = block.split('\n').map((line) => line.split(' | ').length);
      expect(new Set(widths).size).toBe(1);
    }
  });
});

describe('scenarioNotes', () => {
  it('says when deliveries were lost and when the client side may be the bottleneck', () => {
    const saturated = { ...phase(10, 1000, 5, 9, 42), clientSaturated: true };
    const notes = scenarioNotes(scenarioResult('huge-room', [systemRun('nchan', [saturated])]));
    expect(notes).toContain('nchan @ 10/s: 42 deliveries lost; 1 clients missed events');
    expect(notes.some((line) => line.includes('the client side may be the bottleneck'))).toBe(true);
  });

  it('reports an aborted run and failed joins', () => {
    const notes = scenarioNotes(
      scenarioResult('join-storm', [
        systemRun('naive', [], {
          error: 'boom',
          connect: {
            attempted: 10,
            joined: 8,
            failed: 2,
            failures: { 'join timeout': 2 },
            seconds: 1,
            lastJoinSec: 1,
            joinsPerSec: 8,
            joinLatency: latency(1, 2),
          },
        }),
      ]),
    );
    expect(notes).toContain('naive: run aborted: boom');
    expect(notes).toContain('naive connect: 2 of 10 failed: {"join timeout":2}');
  });
});

describe('idle and pull sections', () => {
  it('shows KiB per idle connection, of the second half too, and the roomcast ratio', () => {
    const idle = (kib: number, marginal?: number) => ({
      rssBeforeMiB: 100,
      rssAfterMiB: 200,
      kibPerConnection: kib,
      ...(marginal === undefined ? {} : { rssHalfMiB: 150, kibPerConnectionMarginal: marginal }),
      idleCpuPercent: 1,
      idleSeconds: 10,
    });
    const markdown = renderScenarioMarkdown(
      scenarioResult('idle', [
        systemRun('roomcast', [], { idle: idle(4, 3) }),
        // A result of a run before the second-half figure existed.
        systemRun('socketio', [], { idle: idle(16) }),
      ]),
    );
    expect(markdown).toContain('| roomcast | 0 | 100 | 200 | 4.00 | 3.00 | 1.0 | 1.00× |');
    expect(markdown).toContain('| socketio | 0 | 100 | 200 | 16.00 | – | 1.0 | 0.25× |');
  });

  it('shows origin requests per second for both pull paths', () => {
    const pull = (mode: 'direct' | 'cache', origin: number) => ({
      mode,
      pollers: 2000,
      intervalMs: 1000,
      requestsPerSec: 2000,
      originRequestsPerSec: origin,
      statuses: { '200': 1000 },
      published: 10,
      expected: 20_000,
      received: 20_000,
      freshnessLag: latency(500, 990),
      originCpuPercent: 50,
      cacheCpuPercent: 10,
      pollerCpuPercent: [20, 20],
    });
    const markdown = renderScenarioMarkdown(
      scenarioResult('pull', [
        systemRun('roomcast', [], { pull: [pull('direct', 2000), pull('cache', 1.5)] }),
      ]),
    );
    expect(markdown).toContain('| roomcast directly | 2,000 | 1,000 | 2,000 | 2,000.0 |');
    expect(markdown).toContain('| nginx proxy_cache → roomcast | 2,000 | 1,000 | 2,000 | 1.5 |');
  });
});
