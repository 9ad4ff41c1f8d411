import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The test files that take longest on the 2-core CI machine when it is busy (a benchmark beside
 * the suite), longest first. A fresh checkout has no Vitest timing cache, and the default order
 * (largest file first) started some of these last, so the run ended waiting on one of them.
 * Only the order depends on this list: a stale entry costs time, never correctness.
 */
const SLOWEST_FIRST = [
  'packages/server/test/job-membership.test.ts',
  'packages/web/test/live-room-resilience.browser.test.ts',
  'packages/server/test/ledger-crash.test.ts',
  'packages/web/test/live-room.browser.test.ts',
  'packages/server/test/fuzz-ws.test.ts',
  'packages/web/test/firefox.browser.test.ts',
  'packages/server/test/seq-continuity.test.ts',
  'packages/server/test/pglite-rooms.test.ts',
  'packages/server/test/fuzz-http.test.ts',
  'packages/server/test/postgres-ledger.test.ts',
  'packages/server/test/redis-collections.test.ts',
  'packages/server/test/packaging.test.ts',
];

/** Known slow files first (in the list's order); the rest as Vitest orders them (its cache, then size). */
export default class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FIRST.indexOf(relative(file.project.config.root, file.moduleId));
      return index === -1 ? SLOWEST_FIRST.length : index;
    };
    const byDefault = await super.sort(files);
    // Array.prototype.sort is stable: files of equal rank keep the default order.
    return byDefault.sort((a, b) => rank(a) - rank(b));
  }
}
