import { describe, expect, it } from 'vitest';
import { CliError, parseCliOptions, scenarioSizes } from '../src/cli-options.ts';

describe('parseCliOptions', () => {
  it('runs huge-room on all four systems at 1, 10 and 50 events/s with 10,000 clients by default', () => {
    const options = parseCliOptions(['huge-room']);
    expect(options.systems).toEqual(['roomcast', 'socketio', 'nchan', 'naive']);
    expect(options.rates).toEqual([1, 10, 50]);
    expect(scenarioSizes(options)).toEqual([10_000]);
  });

  it('takes systems, rates and sizes from flags', () => {
    const options = parseCliOptions([
      'huge-room',
      '--systems',
      'roomcast,nchan',
      '--rates',
      '5',
      '--clients',
      '200',
      '--tail-rooms',
      '3',
      '--tail-clients',
      '30',
    ]);
    expect(options.systems).toEqual(['roomcast', 'nchan']);
    expect(options.rates).toEqual([5]);
    expect(scenarioSizes(options)[0]).toBe(200);
    expect(
      scenarioSizes(options)
        .slice(1)
        .reduce((a, b) => a + b, 0),
    ).toBe(30);
  });

  it('spreads many-rooms evenly, or by Zipf with --zipf-rooms', () => {
    expect(scenarioSizes(parseCliOptions(['many-rooms', '--clients', '100', '--rooms', '10']))).toEqual(
      Array.from({ length: 10 }, () => 10),
    );
    const zipf = scenarioSizes(
      parseCliOptions(['many-rooms', '--clients', '100', '--rooms', '10', '--zipf-rooms']),
    );
    expect(zipf[0]).toBeGreaterThan(zipf[9]!);
  });

  it('measures pull on roomcast only', () => {
    expect(parseCliOptions(['pull']).systems).toEqual(['roomcast']);
    expect(() => parseCliOptions(['pull', '--systems', 'nchan'])).toThrow(CliError);
  });

  it('refuses unknown scenarios, systems and bad numbers', () => {
    expect(() => parseCliOptions(['everything'])).toThrow(/first argument must be a scenario/);
    expect(() => parseCliOptions(['idle', '--systems', 'kafka'])).toThrow(/unknown system 'kafka'/);
    expect(() => parseCliOptions(['idle', '--clients=-3'])).toThrow(/--clients must be an integer ≥ 1/);
    expect(() => parseCliOptions(['idle', '--no-such-flag'])).toThrow(CliError);
  });
});
