#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx roomcast` works without a build step. The wrapper
// waits for the CLI and exits with its status: Ctrl-C reaches the CLI from the terminal itself
// (one process group), so SIGINT is not forwarded — the CLI's own second-Ctrl-C handling stays
// right — while SIGTERM and SIGHUP, which supervisors send to one PID, are passed on.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tsx = require.resolve('tsx');
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
});
