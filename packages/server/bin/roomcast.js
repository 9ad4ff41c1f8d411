#!/usr/bin/env node
// The installed `roomcast` command: the built CLI, in this process (signals reach it directly).
// A checkout that was not built says how to build it instead of a module-not-found trace.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  console.error(
    'roomcast: this copy is not built (no dist/cli.js). In a checkout run `npm run build`, or run from source with `npm run roomcast -- <command>`.',
  );
  process.exit(1);
}
