/** The largest amount or balance: it must cross the wire as an exact JSON number. */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/**
 * An amount read from a bigint column. `pg` returns int8 as a string and PGlite as a number; both
 * are checked to be whole and in range, so a corrupt value fails loudly instead of rounding.
 */
export function toAmount(value: unknown): number {
  const n = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`not an amount: ${String(value)}`);
  }
  return n;
}
