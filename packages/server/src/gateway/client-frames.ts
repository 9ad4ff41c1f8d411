import type { ClientFrame } from '@roomcast/protocol';
import { z } from 'zod';

const roomId = z.string().min(1).max(80);

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
  }),
  z.object({ op: z.literal('ping') }),
  z.object({ op: z.literal('auth'), token: z.string().min(1).max(8192), ref: z.string().max(64).optional() }),
]);

export type ParsedClientFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; message: string; ref?: string };

/** Validates a decoded client frame; never throws. */
export function parseClientFrame(value: unknown): ParsedClientFrame {
  const result = clientFrameSchema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data as ClientFrame };
  const ref = typeof value === 'object' && value !== null ? (value as { ref?: unknown }).ref : undefined;
  const op = typeof value === 'object' && value !== null ? (value as { op?: unknown }).op : undefined;
  const known = op === 'join' || op === 'leave' || op === 'publish' || op === 'ping' || op === 'auth';
  const issue = result.error.issues[0];
  const message = !known
    ? `unknown op ${JSON.stringify(op ?? null)}; expected join, leave, publish, ping or auth`
    : `invalid ${String(op)} frame: ${issue?.path.join('.') || 'frame'} ${issue?.message ?? ''}`.trim();
  return typeof ref === 'string' ? { ok: false, message, ref } : { ok: false, message };
}
