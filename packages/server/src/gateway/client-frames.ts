import { type ClientFrame, checkJsonLimits, type JsonLimits } from '@roomcast/protocol';
import { z } from 'zod';

const roomId = z.string().min(1).max(80);
/** A publish's idempotency key: as the HTTP Idempotency-Key header, 1–128 visible ASCII. */
const publishId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–128 visible ASCII characters');

const clientFrameSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('join'),
    room: roomId,
    cursor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    epoch: z.string().max(64).optional(),
  }),
  z.object({ op: z.literal('leave'), room: roomId }),
  z.object({
    op: z.literal('publish'),
    room: roomId,
    type: z.string().min(1).max(32),
    data: z.record(z.string(), z.unknown()).optional(),
    ref: z.string().max(64).optional(),
    id: publishId.optional(),
  }),
  z.object({ op: z.literal('ping') }),
  z.object({ op: z.literal('auth'), token: z.string().min(1).max(8192), ref: z.string().max(64).optional() }),
]);

/**
 * A decoded client frame, validated, or why not. `ref` and `room` are read from the frame whenever
 * they are short strings, valid or not, so that an error (malformed, rate limited) can name them.
 */
export type ParsedClientFrame = { ref?: string; room?: string } & (
  | { ok: true; frame: ClientFrame }
  | { ok: false; message: string }
);

const KNOWN_OPS: ReadonlySet<unknown> = new Set(['join', 'leave', 'publish', 'ping', 'auth']);

/** Validates a decoded client frame against the schema and the structural limits; never throws. */
export function parseClientFrame(value: unknown, limits: JsonLimits): ParsedClientFrame {
  const echo = echoedFields(value);
  const broken = checkJsonLimits(value, limits, 'frame');
  if (broken !== undefined) return { ok: false, message: broken.message, ...echo };
  const result = clientFrameSchema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data as ClientFrame, ...echo };
  const op = typeof value === 'object' && value !== null ? (value as { op?: unknown }).op : undefined;
  const issue = result.error.issues[0];
  const message = !KNOWN_OPS.has(op)
    ? `unknown op ${JSON.stringify(typeof op === 'string' ? op.slice(0, 32) : (op ?? null))}; expected join, leave, publish, ping or auth`
    : `invalid ${String(op)} frame: ${issue?.path.join('.') || 'frame'} ${issue?.message ?? ''}`.trim();
  return { ok: false, message, ...echo };
}

function echoedFields(value: unknown): { ref?: string; room?: string } {
  if (typeof value !== 'object' || value === null) return {};
  const { ref, room } = value as { ref?: unknown; room?: unknown };
  const out: { ref?: string; room?: string } = {};
  if (typeof ref === 'string' && ref.length <= 64) out.ref = ref;
  if (typeof room === 'string' && room.length <= 80) out.room = room;
  return out;
}
