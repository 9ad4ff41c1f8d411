import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('removes the directory it made when the process exits at start', async () => {
    const name = `exits-${randomUUID().slice(0, 8)}`;
    await expect(
      startEngine({ name, binary: process.execPath, args: () => ['-e', 'process.exit(3)'] }),
    ).rejects.toThrow(`${name} exited at start`);
    expect(readdirSync(tmpdir()).filter((entry) => entry.startsWith(`roomcast-${name}-`))).toEqual([]);
  });
});
