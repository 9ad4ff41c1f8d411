import { createHash } from 'node:crypto';

/**
 * A stable 32-bit hash of `text`: the first four bytes of SHA-256 of its UTF-8, read big-endian.
 * The same in every process, Node version and machine (SHA-256 is fixed by FIPS 180-4), so every
 * process that places keys with it agrees; what is placed by it must never move to another hash.
 */
export function stableHash32(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0);
}
