import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Where the web app is: `web/` beside the built server (an installed package carries a copy), else
 * where `npm run build:web` puts it in a checkout, `packages/web/dist`.
 */
export function defaultWebRoot(): string {
  const packaged = fileURLToPath(new URL('../web/', import.meta.url));
  if (existsSync(join(packaged, 'index.html'))) return packaged;
  return fileURLToPath(new URL('../../../web/dist/', import.meta.url));
}

/** The pages of the web app and the paths each one answers (its client-side routes). */
const PAGES: ReadonlyArray<{ file: string; paths: readonly string[] }> = [
  { file: 'index.html', paths: ['/', '/rooms/:room'] },
  { file: 'ops.html', paths: ['/ops', '/ops/*'] },
];

/** Hashed asset names change with their content, so a browser may keep them for good. */
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Pages name the current assets: always revalidated (cheap, they carry an ETag). */
const PAGE_CACHE_CONTROL = 'no-cache';
/** The app loads only its own bundle and talks only to this origin (HTTP and WebSocket). */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serves the built web app (`packages/web`): the live room at `/` (and `/rooms/:room`, so room
 * links open the app) and the operations dashboard at `/ops`, plus their hashed `/assets/*`.
 * Only those paths: anything else, `/v1/*` included, still gets the API's JSON 404. When the app
 * was not built, the pages answer 503 with the command that builds it.
 */
export function registerWebApp(app: FastifyInstance, root: string): void {
  const built = existsSync(join(root, 'index.html'));
  if (!built) {
    for (const page of PAGES)
      for (const path of page.paths) app.get(path, (_request, reply) => notBuilt(reply));
    return;
  }
  void app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    list: false,
    // Missing assets fall through to the not-found handler (a JSON 404).
    wildcard: true,
    cacheControl: false,
    setHeaders: (res) => {
      res.setHeader('Cache-Control', ASSET_CACHE_CONTROL);
      res.setHeader('X-Content-Type-Options', 'nosniff');
    },
  });
  for (const page of PAGES) {
    for (const path of page.paths) {
      app.get(path, (_request, reply) =>
        reply
          .header('Cache-Control', PAGE_CACHE_CONTROL)
          .header('Content-Security-Policy', PAGE_CSP)
          .header('X-Content-Type-Options', 'nosniff')
          .header('Referrer-Policy', 'no-referrer')
          .sendFile(page.file, root, { cacheControl: false }),
      );
    }
  }
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return reply
    .code(503)
    .header('Cache-Control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      '<!doctype html><meta charset="utf-8"><title>roomcast</title>' +
        '<p>The web app is not built. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it).</p>',
    );
}
