/**
 * Whether an error from ioredis (direct or through Twemproxy) means the engine could not be
 * reached, as opposed to a command Redis refused or a bug. ioredis rejects with plain errors when
 * the connection is closed or its retries ran out (MaxRetriesPerRequestError); Redis and Twemproxy
 * answer with a ReplyError, which means unreachable only for the replies below (Twemproxy's when
 * its backend shard is down, Redis' own while loading or read-only after a failover).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError') return true;
  if (err.name === 'ReplyError') return UNAVAILABLE_REPLY.test(err.message);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  return CONNECTION_LOST.test(err.message);
}

const UNAVAILABLE_REPLY =
  /^(ERR (Connection refused|Connection reset|Connection timed out|Invalid argument|Server .*(timed out|closed))|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)/i;
const CONNECTION_LOST =
  /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|ETIMEDOUT|ECONNRESET|EPIPE/;
