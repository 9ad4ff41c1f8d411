/**
 * Writes the settings table of docs/configuration.md from the config schema, so the reference
 * cannot drift from the code (a test checks the two agree). Run: npm run docs:config
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configSchema } from '../packages/server/src/config/config-schema.ts';
import { describeSettings } from '../packages/server/src/config/load-config.ts';

const BEGIN = '<!-- settings:begin -->';
const END = '<!-- settings:end -->';

export function settingsTable(): string {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const valueAt = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], defaults);
  const rows = describeSettings().map((s) => {
    const d = valueAt(s.path);
    const shown = d === undefined || isEmptyMap(d) ? '—' : `\`${formatValue(d)}\``;
    return `| \`${s.path}\` | \`${s.env}\` | \`${s.flag}\` | ${s.kind} | ${shown} |`;
  });
  return [
    BEGIN,
    '| setting | env var | flag | type | default |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    END,
  ].join('\n');
}

function isEmptyMap(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
  );
}

/** A default as it would be written in an env var: lists comma-separated, maps as `key=value,…`. */
function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  }
  return String(value);
}

export function renderConfigurationDoc(current: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start === -1 || end === -1) throw new Error('docs/configuration.md lacks the settings markers');
  return current.slice(0, start) + settingsTable() + current.slice(end + END.length);
}

if (process.argv[1]?.endsWith('config-docs.ts')) {
  const file = new URL('../docs/configuration.md', import.meta.url);
  writeFileSync(file, renderConfigurationDoc(readFileSync(file, 'utf8')));
  console.log('docs/configuration.md updated');
}
