import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Two pages, built into `dist/` and served by roomcast: the live room (`index.html`, at `/`) and
 * the operations dashboard (`ops.html`, at `/ops`). Assets get content hashes, so the server can
 * cache them for good. `npx vite` serves the pages in development against a server on :8080.
 */
export default defineConfig({
  root,
  base: '/',
  // The SDK and the protocol are bundled from their TypeScript sources (see their `exports`).
  resolve: { conditions: ['roomcast-source', ...defaultClientConditions] },
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Small enough as files; inlining would need `data:` in the pages' script policy.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    // Every browser the app supports knows `modulepreload`.
    modulePreload: { polyfill: false },
    rolldownOptions: {
      input: { room: `${root}index.html`, ops: `${root}ops.html` },
      // What both pages use (the SDK, the protocol, shared views and styles) is one `shared` chunk.
      output: {
        codeSplitting: {
          groups: [
            { name: 'shared', test: /packages[\\/](client|protocol)[\\/]|src[\\/]shared[\\/]|node_modules/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
