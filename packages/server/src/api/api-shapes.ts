import { z } from 'zod';
import type { ErrorCase } from './openapi.ts';

/**
 * Shapes the OpenAPI document describes and several routes share: path parameters, headers,
 * answer bodies (the resources of packages/protocol/src/model.ts) and the errors of a room lookup.
 * Documentation only: handlers neither parse their answers nor validate by these.
 */

export const roomParams = z.object({
  room: z.string().describe("a room ID: its host's region, `_`, then the server's choice (`eu_…`)"),
});
export const stateParams = roomParams.extend({
  name: z.string().describe('a partial name: 1–64 of `[A-Za-z0-9_.-]`, starting with a letter or digit'),
});

/** `Idempotency-Key`: a retry with the same key answers the first result and changes nothing. */
export function idempotencyHeader(required: boolean, scope: string) {
  const key = z
    .string()
    .min(1)
    .max(128)
    .describe(`1–128 visible ASCII characters (no spaces), scoped to ${scope}`);
  return z.object({ 'Idempotency-Key': required ? key : key.optional() });
}

/** The validator of a pull answer (`ETag`); a match answers 304. */
export const ifNoneMatchHeader = z.object({
  'If-None-Match': z
    .string()
    .optional()
    .describe('the `ETag` of an earlier answer: 304 when nothing changed'),
});

/** The headers of a pull answer (pull-cache.ts). */
export const PULL_HEADERS = {
  ETag: 'a weak validator of this answer',
  'Cache-Control':
    '`public, max-age=1, stale-while-revalidate=1` for a public room, `private, no-store` for a private one',
  Vary: '`Authorization` for a public room, unless `pull.sharedCache` is on',
} as const;

export const NOT_MODIFIED = {
  description: 'not modified: `If-None-Match` matched the current `ETag` (the same cache headers, no body)',
} as const;

/** The errors of finding a room by its ID (room-service.ts). */
export const ROOM_LOOKUP_ERRORS: readonly ErrorCase[] = [
  ['bad_request', 'a malformed room ID, or one of a region this deployment does not serve'],
  ['not_found', 'no such room'],
  ['unavailable', "the room's region shard (or, for an ended room, the archive) is unreachable"],
];

/** The errors of reading a room a user must be allowed to see. */
export const VISIBLE_ROOM_ERRORS: readonly ErrorCase[] = [
  ...ROOM_LOOKUP_ERRORS,
  ['forbidden', 'a private room the caller may not join'],
];

const isoTime = z.string().describe('ISO 8601');
const jsonObject = z.record(z.string(), z.unknown());

export const roomShape = z.object({
  id: z.string(),
  hostId: z.string(),
  title: z.string(),
  visibility: z.enum(['public', 'private']),
  status: z.enum(['live', 'ended']),
  startedAt: isoTime,
  endedAt: isoTime.nullable().describe('ISO 8601; null while live'),
});

export const eventShape = z.object({
  seq: z.int().describe("the room's sequence number; never reused in a room"),
  type: z.string(),
  from: z.string().nullable().describe('the publisher, null for events the service makes'),
  data: jsonObject,
  ts: z.int().describe('ms since the epoch, when the server accepted it'),
});

export const peerShape = z.object({
  id: z.string(),
  seq: z.int().describe("the recipient's inbox sequence number"),
  room: z.string(),
  from: z.string(),
  type: z.string(),
  data: jsonObject,
  ts: z.int().describe('ms since the epoch'),
});

export const stateSnapshotShape = z.object({
  total: z.int().describe("the room's total state version"),
  partials: z
    .record(z.string(), z.object({ v: z.int(), value: z.unknown() }))
    .describe('by partial name: its version and value'),
});

export const stateVersionsShape = z.object({
  total: z.int(),
  partials: z.record(z.string(), z.int()).describe('by partial name: its version'),
});

export const transferShape = z.object({
  id: z.string().describe('the transfer ID (also `data.transfer` of the gift event)'),
  amount: z.int().describe('price × count'),
  balance: z.int().describe("the sender's balance right after this gift"),
});

export const giftShape = z.object({ id: z.string(), name: z.string(), price: z.int() });

/** `AdminStats` of packages/protocol/src/admin-stats.ts, its top level. */
export const adminStatsShape = z.object({
  at: z.int().describe('ms since the epoch'),
  uptimeSeconds: z.number(),
  gateways: z
    .array(
      z.object({
        id: z.string(),
        connections: z.int(),
        roomChannels: z.int(),
        sendQueueBytes: z.int(),
        sendQueueSoftBytes: z.int(),
        draining: z.boolean(),
        group: z.string().optional(),
        unreachable: z.boolean().optional(),
      }),
    )
    .describe("this process's gateways, or on a process without one every announced gateway"),
  counters: jsonObject.describe(
    'cumulative counters of `/metrics`: events, deliveries, frames, bytes, bus, …',
  ),
  rooms: z
    .array(
      z.object({
        id: z.string(),
        title: z.string(),
        hostId: z.string(),
        startedAt: isoTime,
        online: z.int(),
        seq: z.int(),
        epoch: z.string(),
      }),
    )
    .describe('live rooms, newest first, at most `limits.listMaxLimit`'),
  roomsTruncated: z.boolean(),
});
