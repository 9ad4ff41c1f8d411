import type { JsonValue } from '@roomcast/protocol';

/**
 * The text of a partial's value: the page writes strings, but other clients may write
 * `{"text":"…"}`; anything else shows as nothing (an empty string clears a partial).
 */
export function partialText(value: JsonValue | undefined): string {
  if (typeof value === 'string') return value;
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof value.text === 'string'
  ) {
    return value.text;
  }
  return '';
}
