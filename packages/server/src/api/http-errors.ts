import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type ErrorCode, RoomcastError } from '@roomcast/protocol';
import type { FastifyReply } from 'fastify';
import { StoreUnavailableError } from '../core/ports/store-unavailable.ts';

/**
 * How every HTTP error leaves roomcast: `{"error":{"code","message"}}` with a catalogue code
 * (PROTOCOL.md v1.1), also for the errors the framework and Node's HTTP parser raise themselves.
 * The status is the catalogue's, except where the framework chose a more precise one (414, 415,
 * 431, 405, …): that one is kept, and the body still carries a catalogue code.
 */

/** A catalogued error and the status it is sent with. */
export interface HttpError {
  error: RoomcastError;
  status: number;
}

/** Sends `err` as the contract's error body, with `status` (default: the catalogue's). */
export function sendError(reply: FastifyReply, err: RoomcastError, status = err.status): FastifyReply {
  if (err.retryAfterSeconds !== undefined)
    reply.header('Retry-After', String(Math.max(1, err.retryAfterSeconds)));
  return reply.code(status).send({ error: { code: err.code, message: err.message } });
}

interface FrameworkError {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
}

/** Catalogue codes for the 4xx/5xx statuses the framework raises with a meaning of their own. */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  414: 'too_large',
  429: 'rate_limited',
  431: 'too_large',
  503: 'unavailable',
};

/** Clearer messages than the framework's for the errors clients meet most. */
const MESSAGE_OF_CODE: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send JSON with Content-Type: application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body is not valid JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the body does not match Content-Length',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is too long',
  FST_ERR_BAD_URL: 'the URL is malformed',
};

/**
 * Maps an error a handler, hook, body parser or the router raised into the catalogue; undefined
 * when it is none of those (a bug, or a dependency that failed unexpectedly: a 500 to log).
 */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof RoomcastError) return { error: err, status: err.status };
  if (err instanceof StoreUnavailableError) {
    return { error: new RoomcastError('unavailable', `${err.message}; try again shortly`, 1), status: 503 };
  }
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as FrameworkError;
  const status = e.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return undefined;
  if (status >= 500 && status !== 503) return undefined;
  const code = CODE_OF_STATUS[status] ?? 'bad_request';
  const known = typeof e.code === 'string' ? MESSAGE_OF_CODE[e.code] : undefined;
  const message =
    known ?? (typeof e.message === 'string' && e.message !== '' ? e.message : STATUS_CODES[status]);
  // The contract promises Retry-After with every 503.
  const retryAfter = code === 'unavailable' ? 1 : undefined;
  return { error: new RoomcastError(code, message ?? 'bad request', retryAfter), status };
}

/** What an error Node's HTTP parser raised (the request never reached the router) is answered with. */
export function clientErrorAnswer(err: { code?: unknown }): HttpError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { error: new RoomcastError('too_large', 'request headers too large'), status: 431 };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { error: new RoomcastError('bad_request', 'the request was not received in time'), status: 408 };
    default:
      return { error: new RoomcastError('bad_request', 'malformed HTTP request'), status: 400 };
  }
}

/**
 * Fastify's `clientErrorHandler`: answers a request Node's HTTP parser refused (headers over
 * `maxHeaderSize`, a malformed request line) with the contract's body, then closes the
 * connection, as Node and Fastify do, because the rest of its bytes cannot be trusted.
 */
export function answerClientError(err: Error & { code?: unknown }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { error, status } = clientErrorAnswer(err);
    const body = JSON.stringify({ error: { code: error.code, message: error.message } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(err);
}
