import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../../scripts/config-docs.ts';

describe('docs/configuration.md', () => {
  it('lists every setting as the schema defines it (run `npm run docs:config` after changing settings)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(renderConfigurationDoc(doc)).toBe(doc);
  });
});
