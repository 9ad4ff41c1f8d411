import { describe, expect, it } from 'vitest';
import { findBinary, startEngine } from './helpers/engine-process.ts';

describe('engine launcher', () => {
  it('names the Debian package when a binary is missing', () => {
    expect(() => findBinary('no-such-engine-binary', 'no-such-package', [])).toThrow(
      'install the Debian package `no-such-package`',
    );
  });

  it('starts a process on a free port, waits until it answers, and stops it', async () => {
    const engine = await startEngine({
      name: 'tcp-echo',
      binary: process.execPath,
      args: (port) => ['-e', `require('net').createServer((s) => s.pipe(s)).listen(${port}, '127.0.0.1')`],
    });
    expect(engine.port).toBeGreaterThan(0);
    await engine.stop();
    expect(engine.child.exitCode !== null || engine.child.signalCode !== null).toBe(true);
  });
});
