import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typeScriptNodeArgs } from '../../src/runtime/node-command.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** What `scripts/build.ts` compiles; a build is current only when none of it changed since. */
const SOURCES = ['protocol', 'client', 'server'].map((name) => join(ROOT, 'packages', name, 'src'));
/** Written by `scripts/build.ts` once the build is complete: `{ "startedAt": <ms> }`. */
export const BUILD_INFO = join(ROOT, 'packages', 'server', 'dist', 'build-info.json');

function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function buildIsCurrent(): boolean {
  try {
    const { startedAt } = JSON.parse(readFileSync(BUILD_INFO, 'utf8')) as { startedAt: number };
    return SOURCES.every((dir) => newestChange(dir) < startedAt);
  } catch {
    return false;
  }
}

let cached: readonly string[] | undefined;

/**
 * The node arguments that run `roomcast` in a test child process: the built `dist/cli.js` when the
 * build is newer than every source file (the test command builds first), else `src/cli.ts`
 * through tsx — so a test never runs code older than the checkout. Paths are absolute.
 */
export function roomcastCliArgs(): readonly string[] {
  cached ??= buildIsCurrent()
    ? [join(ROOT, 'packages', 'server', 'dist', 'cli.js')]
    : [...typeScriptNodeArgs(), join(ROOT, 'packages', 'server', 'src', 'cli.ts')];
  return cached;
}
