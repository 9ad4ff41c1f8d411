import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RoomcastProcess, spawnRoomcast } from './helpers/roomcast-process.ts';

/**
 * What a new user does: the packed packages installed into an empty project (registry
 * dependencies, no workspace links, no dev dependencies), `roomcast dev` from the installed bin,
 * and the README's SDK example run from that project. Needs the build (`npm run build`, which the
 * test command runs first).
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['protocol', 'client', 'server'] as const;
const EXAMPLE = join(ROOT, 'examples', 'hello-sdk.mjs');

let project: string;
let server: RoomcastProcess | undefined;

beforeAll(async () => {
  for (const entry of ['protocol/dist/index.js', 'client/dist/index.js', 'server/dist/cli.js']) {
    if (!existsSync(join(ROOT, 'packages', entry)))
      throw new Error(`packages/${entry} is missing: run \`npm run build\` first`);
  }
  project = mkdtempSync(join(tmpdir(), 'roomcast-packaging-'));
  const tarballs: string[] = [];
  for (const name of PACKAGES) {
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--pack-destination', project, '-w', `packages/${name}`],
      {
        cwd: ROOT,
      },
    );
    const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
    if (packed === undefined) throw new Error(`npm pack of packages/${name} reported nothing`);
    tarballs.push(join(project, packed.filename));
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'new-user', private: true, type: 'module' }),
  );
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=dev', ...tarballs, 'ws'],
    {
      cwd: project,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  copyFileSync(EXAMPLE, join(project, 'hello-sdk.mjs'));
  server = await spawnRoomcast(
    'dev',
    { ROOMCAST_DATA: join(project, 'data') },
    { nodeArgs: [join(project, 'node_modules', '@roomcast', 'server', 'bin', 'roomcast.js')], cwd: project },
  );
  await server.ready(60_000);
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe('the packed packages, installed into an empty project', () => {
  it('install without TypeScript tooling: no tsx, no typescript, only built files', () => {
    const modules = join(project, 'node_modules');
    expect(existsSync(join(modules, 'tsx'))).toBe(false);
    expect(existsSync(join(modules, 'typescript'))).toBe(false);
    for (const name of PACKAGES) {
      const installed = join(modules, '@roomcast', name);
      expect(existsSync(join(installed, 'src')), `@roomcast/${name} ships src/`).toBe(false);
      expect(existsSync(join(installed, 'dist')), `@roomcast/${name} ships dist/`).toBe(true);
    }
    expect(existsSync(join(modules, '@roomcast', 'client', 'dist', 'index.d.ts'))).toBe(true);
  });

  it('run `roomcast dev` from the installed bin, serving the API and the web app', async () => {
    const ready = await fetch(`${server?.url}/readyz`);
    expect(ready.status).toBe(200);
    const page = await fetch(`${server?.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it("run the README's SDK example against it, over WebSocket on Node 20 too", async () => {
    const { stdout } = await run(process.execPath, ['hello-sdk.mjs'], {
      cwd: project,
      env: { ...process.env, ROOMCAST_URL: server?.url ?? '' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^\d+ comment \{"text":"hello"\}$/m);
    expect(stdout).toMatch(/^over ws, in room /m);
  });

  it("run the README's curl examples twice in a row: the second run reuses the live room", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = (after: string) => {
      const start = readme.indexOf('```sh\n', readme.indexOf(after));
      return readme.slice(start + 6, readme.indexOf('```', start + 6));
    };
    const tryIt = block('Try it:');
    const gifts = block('Gifts:').replace(/^sleep 3; /m, 'sleep 1; ');
    const script = [tryIt, tryIt, gifts, tryIt, gifts]
      .join('\n')
      .replaceAll('localhost:8080', `127.0.0.1:${server?.port}`);
    const { stdout, stderr } = await run('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: project,
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(stdout.match(/"type":"comment"/g)?.length).toBeGreaterThanOrEqual(3);
    expect(stdout).not.toContain('"error"');
  });

  it('the README shows that example as it is', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(readFileSync(EXAMPLE, 'utf8').trim());
  });
});
