import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `roomcast <args>` to its end: exit code and output. */
function roomcast(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) clean[k] = v;
  const child = spawn(process.execPath, [...roomcastCliArgs(), ...args], {
    cwd: ROOT,
    env: { ...clean, ROOMCAST_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the roomcast command line', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'roomcast-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the help for --help and -h after a role, and exits 0', async () => {
    const answers = await Promise.all(['--help', '-h'].map((flag) => roomcast(['dev', flag])));
    expect(answers.map(({ code, output }) => [code, output.startsWith('roomcast — ')])).toEqual([
      [0, true],
      [0, true],
    ]);
  });

  it('names an unknown flag as unknown, with or without a value', async () => {
    const [bare, valued] = await Promise.all([
      roomcast(['dev', '--bogus']),
      roomcast(['dev', '--bogus', '1']),
    ]);
    expect([bare.code, valued.code]).toEqual([2, 2]);
    expect(bare.output).toContain('--bogus: unknown flag');
    expect(valued.output).toContain('--bogus: unknown flag');
  });

  it('refuses a data directory it cannot make at once, naming it', async () => {
    const { code, output } = await roomcast(['dev', '--data', '/proc/roomcast-nope']);
    expect(code).toBe(2);
    expect(output).toContain('the data directory /proc/roomcast-nope cannot be used');
  });

  it('exits 1 with the reason when its port is taken, instead of running on', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, output } = await roomcast(['dev', '--port', String(port), '--data', dataDir], {
        ROOMCAST_JWT_SECRET: 'cli-test-secret-cli-test-secret',
      });
      expect(code).toBe(1);
      expect(output).toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  }, 90_000);
});
