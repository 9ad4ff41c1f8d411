import {
  checkJsonLimits,
  type JsonLimits,
  type PartialState,
  type PeerMessage,
  type RoomEvent,
} from '@roomcast/protocol';
import { z } from 'zod';

/** What travels on a room's bus channel: everything every gateway serving the room must see. */
export type RoomSignal =
  /** `floor`: the epoch's floor (HistoryPosition); absent from older publishers. */
  | { kind: 'ts'; room: string; epoch: string; floor?: number; event: RoomEvent }
  | { kind: 'ss'; room: string; total: number; partials: Record<string, PartialState> }
  | { kind: 'kick'; room: string; user: string; reason: KickReason }
  | { kind: 'close'; room: string; reason: KickReason };

export type KickReason = 'kicked' | 'banned' | 'room_ended';

/** What travels on one gateway's own channel. */
export type GatewaySignal = {
  kind: 'peer';
  message: Omit<PeerMessage, 'seq'>;
  recipients: Array<{ user: string; seq: number }>;
};

export const roomChannel = (room: string): string => `room.${room}`;
export const gatewayChannel = (gatewayId: string): string => `gw.${gatewayId}`;

const json: z.ZodType<unknown> = z.unknown();
const jsonObject = z.record(z.string(), json);
const reason = z.enum(['kicked', 'banned', 'room_ended']);

const roomEventSchema = z.object({
  seq: z.number().int().positive(),
  type: z.string().min(1).max(64),
  from: z.string().nullable(),
  data: jsonObject,
  ts: z.number(),
});

const roomSignalSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('ts'),
    room: z.string().min(1),
    epoch: z.string().min(1),
    floor: z.number().int().nonnegative().optional(),
    event: roomEventSchema,
  }),
  z.object({
    kind: z.literal('ss'),
    room: z.string().min(1),
    total: z.number().int().nonnegative(),
    partials: z.record(z.string(), z.object({ v: z.number().int().positive(), value: json.optional() })),
  }),
  z.object({ kind: z.literal('kick'), room: z.string().min(1), user: z.string().min(1), reason }),
  z.object({ kind: z.literal('close'), room: z.string().min(1), reason }),
]);

const gatewaySignalSchema = z.object({
  kind: z.literal('peer'),
  message: z.object({
    id: z.string().min(1),
    room: z.string().min(1),
    from: z.string().min(1),
    type: z.string().min(1),
    data: jsonObject,
    ts: z.number(),
  }),
  recipients: z.array(z.object({ user: z.string().min(1), seq: z.number().int().positive() })).min(1),
});

/**
 * Bounds on a bus message's shape. Publishers validated what they send against the client limits
 * (`limits.json*`, at most 256 levels); these only stop a message no roomcast process would send
 * (another version, a bug, a hostile publisher on the bus) from reaching a recursive encoder.
 */
const BUS_JSON_LIMITS: JsonLimits = { maxDepth: 264, maxKeys: 100_000, maxItems: 100_000 };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSignal(signal: RoomSignal | GatewaySignal): Uint8Array {
  return encoder.encode(JSON.stringify(signal));
}

/**
 * Decodes and validates a room signal from the bus. Returns undefined for anything malformed:
 * a bad message from the bus is dropped (and counted by the caller), never trusted or thrown.
 */
export function decodeRoomSignal(payload: Uint8Array): RoomSignal | undefined {
  const parsed = parseJson(payload);
  const result = roomSignalSchema.safeParse(parsed);
  return result.success ? (result.data as RoomSignal) : undefined;
}

export function decodeGatewaySignal(payload: Uint8Array): GatewaySignal | undefined {
  const parsed = parseJson(payload);
  const result = gatewaySignalSchema.safeParse(parsed);
  return result.success ? (result.data as GatewaySignal) : undefined;
}

function parseJson(payload: Uint8Array): unknown {
  try {
    const value: unknown = JSON.parse(decoder.decode(payload));
    return checkJsonLimits(value, BUS_JSON_LIMITS) === undefined ? value : undefined;
  } catch {
    return undefined;
  }
}
