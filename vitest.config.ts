import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import SlowestFirstSequencer from './scripts/test-sequencer.ts';

/** The workspace packages resolve to their TypeScript sources (see their `exports`), not to `dist/`. */
const conditions = ['roomcast-source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    // Hooks start engines, servers and browsers: over a minute on a busy machine (a limit, not a measure).
    hookTimeout: 120_000,
    pool: 'forks',
    // Most test files wait on engines, sockets and browsers rather than compute: on a 2-core
    // machine the default (cores − 1 = one file at a time) leaves the CPU idle and takes twice as
    // long. No test depends on timing, so several files may share the cores.
    maxWorkers: 4,
    // Files run one after another in each worker's process instead of a fresh process each: the
    // modules (Fastify, pg, ioredis, …) load once per worker, not once per file — a busy run beside
    // a benchmark went from 6:00 to 5:01. So a test file must leave no global state behind: close
    // what it opens, restore timers and mocks, and keep process-wide settings as it found them.
    isolate: false,
    reporters: ['default', './scripts/summary-reporter.ts'],
    sequence: { sequencer: SlowestFirstSequencer },
  },
});
