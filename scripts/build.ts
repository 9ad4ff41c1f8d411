/**
 * `npm run build`: compiles the publishable packages to `dist/` (ESM, `.d.ts`, source maps) in
 * dependency order and copies what the server reads at run time besides its code: SQL migrations,
 * Lua scripts and the built web app (`dist/web/`, so an installed server serves it too).
 *
 *   tsx scripts/build.ts            # protocol, client, server (the web app must be built first)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PACKAGES = ['protocol', 'client', 'server'] as const;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// Sources changed after this moment are not in the build (tests then run the sources instead).
const startedAt = Date.now();

/** Files under `dir` (recursively) whose names end in one of `extensions`. */
function assets(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return assets(path, extensions);
    return extensions.some((ext) => name.endsWith(ext)) ? [path] : [];
  });
}

for (const name of PACKAGES) {
  const dir = join(ROOT, 'packages', name);
  const started = performance.now();
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const file of assets(join(dir, 'src'), ['.sql', '.lua'])) {
    cpSync(file, join(dir, 'dist', relative(join(dir, 'src'), file)));
  }
  console.log(`built @roomcast/${name} in ${Math.round(performance.now() - started)} ms`);
}

const web = join(ROOT, 'packages', 'web', 'dist');
if (!existsSync(join(web, 'index.html'))) {
  throw new Error('packages/web/dist is missing: run `npm run build:web` first (`npm run build` does)');
}
cpSync(web, join(ROOT, 'packages', 'server', 'dist', 'web'), { recursive: true });
console.log('copied the web app into @roomcast/server/dist/web');
// Last: its presence says the build is complete (packages/server/test/helpers/roomcast-cli.ts).
writeFileSync(
  join(ROOT, 'packages', 'server', 'dist', 'build-info.json'),
  `${JSON.stringify({ startedAt })}\n`,
);
