import { checkJsonLimits, type JsonLimits, RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Replaces Fastify's `application/json` parser. Two differences:
 * - An empty body is `{}`: a body-less POST (a room end) may still say `content-type: application/json`
 *   (PROTOCOL.md v1.1).
 * - Every parsed value is checked against the structural limits (`limits.jsonMax*`) before any
 *   handler sees it. JSON.parse in V8 is iterative, so deep input cannot overflow the stack while
 *   it is parsed, and `checkJsonLimits` walks iteratively too; but a recursive encoder
 *   (JSON.stringify, msgpackr) on the fan-out path would overflow on it later. The walk also
 *   refuses the key `__proto__`, as Fastify's parser does (prototype poisoning).
 *
 * The byte limit stays Fastify's `bodyLimit` (413 before anything is parsed).
 */
export function registerJsonBodyParser(app: FastifyInstance, limits: JsonLimits): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    async (_request: FastifyRequest, body: string) => parseJsonBody(body, limits),
  );
}

/** Parses and checks one request body; a 400 `bad_request` naming what is wrong. */
export function parseJsonBody(text: string, limits: JsonLimits): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RoomcastError('bad_request', 'body is not valid JSON');
  }
  const violation = checkJsonLimits(value, limits, 'body');
  if (violation !== undefined) throw new RoomcastError('bad_request', violation.message);
  return value;
}
