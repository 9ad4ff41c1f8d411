import { createHash } from 'node:crypto';

/** Printable ASCII without spaces and without `#`, short enough for memcached's 250-byte keys. */
const PLAIN_KEY = /^[\x21\x22\x24-\x7e]{1,200}$/;

/**
 * The memcached key of a cache key: `<prefix><key>` when the key is short printable ASCII, else
 * `<prefix>#<sha256 of the key, base64url>`. Memcached keys are at most 250 bytes with no spaces or
 * control characters (text protocol; other clients of the same clusters may speak it), so any
 * other key is hashed. Plain keys never contain `#`, so the two forms cannot collide.
 */
export function memcachedKeyOf(prefix: string, key: string): string {
  if (PLAIN_KEY.test(key)) return `${prefix}${key}`;
  return `${prefix}#${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
}
