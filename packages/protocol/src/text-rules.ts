/**
 * Which characters user-supplied text may hold. Control characters (C0, DEL, C1) are refused in
 * every name and title: PostgreSQL refuses U+0000 in text, terminals and logs misrender the rest,
 * and none has a use in a room title. Comment texts may hold line breaks and tabs.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: this pattern exists to find control characters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: this pattern exists to find control characters.
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f]/;
/** Lone surrogates cannot be encoded as UTF-8: they would turn into U+FFFD on the way out. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `text` holds no control character and no lone surrogate: fit for a title or a name. */
export function isCleanLine(text: string): boolean {
  return !CONTROL.test(text) && !LONE_SURROGATE.test(text);
}

/** True when `text` holds no control character but line breaks (`\n`, `\r`) and tabs, and no lone surrogate. */
export function isCleanText(text: string): boolean {
  return !CONTROL_BUT_LINE_BREAKS.test(text) && !LONE_SURROGATE.test(text);
}
