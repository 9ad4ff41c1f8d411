import { createHash } from 'node:crypto';
import { fail } from './errors.ts';

/** The longest Idempotency-Key accepted. */
export const IDEMPOTENCY_KEY_MAX = 128;
/** Visible ASCII only: no spaces or control characters, so a key prints and compares unambiguously. */
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * The request's `Idempotency-Key` header: 1–128 visible ASCII characters (a UUID fits), required.
 * Two headers arrive joined with ", " and so are refused too.
 */
export function requireIdempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined || header === '') fail('bad_request', 'send an Idempotency-Key header');
  if (typeof header !== 'string') fail('bad_request', 'send one Idempotency-Key header');
  if (header.length > IDEMPOTENCY_KEY_MAX) {
    fail('bad_request', `Idempotency-Key is ${header.length} characters; at most ${IDEMPOTENCY_KEY_MAX}`);
  }
  if (!KEY_PATTERN.test(header)) fail('bad_request', 'Idempotency-Key must be visible ASCII (no spaces)');
  return header;
}

/**
 * A digest of what a request asks for, stored with its key: the same key with another digest is
 * another request (409 conflict), not a replay.
 */
export function requestHash(parts: readonly (string | number)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
