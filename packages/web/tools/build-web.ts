import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The web package's directory. */
export const WEB_DIR = fileURLToPath(new URL('../', import.meta.url));
/** Where the build goes (and where the server looks for it). */
export const WEB_DIST = join(WEB_DIR, 'dist');
const STAMP = '.build-hash';

/** Everything the bundle is made from: the web app's sources and the SDK and protocol it bundles. */
function buildInputs(): string[] {
  const packages = join(WEB_DIR, '..');
  const files = [
    join(WEB_DIR, 'index.html'),
    join(WEB_DIR, 'ops.html'),
    join(WEB_DIR, 'vite.config.ts'),
    join(WEB_DIR, 'package.json'),
  ];
  for (const dir of [
    join(WEB_DIR, 'src'),
    join(packages, 'client', 'src'),
    join(packages, 'protocol', 'src'),
  ]) {
    files.push(...walk(dir));
  }
  return files.sort();
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** A digest of the inputs' names and contents (not their times: a fresh clone has new ones). */
export function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of buildInputs()) {
    hash.update(relative(WEB_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Whether `dist/` was built from the current inputs. */
export function isWebBuildFresh(): boolean {
  const stamp = join(WEB_DIST, STAMP);
  return (
    existsSync(join(WEB_DIST, 'index.html')) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === inputsHash()
  );
}

/**
 * Builds the web app into `dist/` with Vite unless it is already built from the current inputs
 * (or `force`). Takes a few seconds when it builds, a few milliseconds when it does not. Used by
 * `npm start`, `npm test` and the browser tests, so nobody has to remember to build.
 */
export async function ensureWebBuild(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (options.force !== true && isWebBuildFresh()) return false;
  const hash = inputsHash();
  const started = Date.now();
  // Loaded only when building: Vite is a development dependency of this package.
  const { build } = await import('vite');
  await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(join(WEB_DIST, STAMP), hash);
  if (options.quiet !== true)
    console.log(
      `web app built into ${relative(process.cwd(), WEB_DIST) || '.'} in ${Date.now() - started} ms`,
    );
  return true;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await ensureWebBuild({ force: process.argv.includes('--force') });
}
