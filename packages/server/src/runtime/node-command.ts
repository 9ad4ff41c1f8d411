import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The export condition under which the workspace packages (`@roomcast/protocol`,
 * `@roomcast/client`) resolve to their TypeScript sources instead of their built `dist/`. A
 * checkout runs from source with it; an installed package never sees it.
 */
export const SOURCE_CONDITION = 'roomcast-source';

/**
 * Node flags that run a TypeScript file of this checkout: tsx (resolved from this package, so it
 * works from any working directory) and the source condition. Only for checkouts: tsx is a
 * development dependency.
 */
export function typeScriptNodeArgs(): string[] {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return [`--conditions=${SOURCE_CONDITION}`, '--import', tsx];
}

/**
 * The node arguments that start `roomcast <args>` the way this process runs: the built
 * `dist/cli.js` when this module is itself built, else `src/cli.ts` through tsx.
 */
export function roomcastNodeArgs(args: readonly string[]): string[] {
  if (import.meta.url.endsWith('.js')) return [fileURLToPath(new URL('../cli.js', import.meta.url)), ...args];
  return [...typeScriptNodeArgs(), fileURLToPath(new URL('../cli.ts', import.meta.url)), ...args];
}
