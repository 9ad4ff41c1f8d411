import type { Room } from '@roomcast/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Validators and short cache lifetimes for pull endpoints, so an HTTP cache (nginx proxy_cache, a
 * CDN) in front can absorb a huge room's polling with one origin hit per window. Public rooms are
 * cacheable by shared caches for one second — one copy per token (`Vary: Authorization`), or one
 * for everyone with `pull.sharedCache`; private rooms never leave the client.
 */
export function cacheHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  room: Room,
  version: string,
  body: unknown,
  sharedCache = false,
): unknown {
  const etag = `W/"${version}"`;
  reply.header('ETag', etag);
  if (room.visibility === 'public') {
    reply.header('Cache-Control', 'public, max-age=1, stale-while-revalidate=1');
    if (!sharedCache) reply.header('Vary', 'Authorization');
  } else {
    reply.header('Cache-Control', 'private, no-store');
  }
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return body;
}
