import { z } from 'zod';
import type { OngoingRooms, RoomShare } from '../../core/ports/ongoing-rooms.ts';

/** An answer larger than this is refused: 1,000,000 rooms of one share fit in well under it. */
const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

const roomSchema = z.object({
  id: z.string().min(1).max(100),
  region: z.string().max(16),
  hostId: z.string().min(1).max(100),
  startedAt: z.string().max(40),
});
const answerSchema = z.object({
  ready: z.boolean(),
  rooms: z.array(roomSchema),
  ended: z.array(roomSchema.extend({ endedAt: z.string().max(40), onShard: z.boolean() })),
});

/** Thrown when no OngoingQuery instance gave an answer; the message names each one's failure. */
export class OngoingUnavailableError extends Error {
  override readonly name = 'OngoingUnavailableError';
  readonly code = 'ongoing_unavailable';
}

export interface HttpOngoingRoomsOptions {
  /** `roomcast ongoing` base URLs (`http://host:port`). */
  urls: readonly string[];
  /** The bearer token for `GET /v1/ongoing` (called per request: tokens expire). */
  token: () => Promise<string>;
  timeoutMs: number;
}

/**
 * OngoingRooms over HTTP: asks the `roomcast ongoing` instances for a share, starting with the one
 * that answered last and moving to the next when one fails, times out or answers nonsense (each
 * answer is validated before any job sees it). An instance that has not finished its first scan
 * is passed over while another is ready.
 */
export class HttpOngoingRooms implements OngoingRooms {
  private preferred = 0;

  constructor(private readonly options: HttpOngoingRoomsOptions) {
    if (options.urls.length === 0) throw new RangeError('HttpOngoingRooms needs at least one URL');
  }

  async share(index: number, count: number): Promise<RoomShare> {
    const { urls } = this.options;
    const failures: string[] = [];
    let notReady: RoomShare | undefined;
    for (let attempt = 0; attempt < urls.length; attempt++) {
      const at = (this.preferred + attempt) % urls.length;
      const url = urls[at] as string;
      try {
        const share = await this.ask(url, index, count);
        if (!share.ready) {
          notReady ??= share;
          failures.push(`${url}: no complete scan yet`);
          continue;
        }
        this.preferred = at;
        return share;
      } catch (err) {
        failures.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (notReady !== undefined) return notReady;
    throw new OngoingUnavailableError(`no OngoingQuery instance answered: ${failures.join('; ')}`);
  }

  private async ask(base: string, index: number, count: number): Promise<RoomShare> {
    const url = new URL('/v1/ongoing', base);
    url.searchParams.set('index', String(index));
    url.searchParams.set('count', String(count));
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${await this.options.token()}` },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await readLimited(response, MAX_ANSWER_BYTES);
    if (!response.ok) throw new Error(`HTTP ${response.status} ${text.slice(0, 200)}`);
    const parsed = answerSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`not an ongoing rooms answer: ${parsed.error.issues[0]?.message}`);
    return { ready: parsed.data.ready, live: parsed.data.rooms, ended: parsed.data.ended };
  }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await response.body?.cancel();
    throw new Error(`answer of ${declared} bytes is over the ${limit}-byte limit`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`answer over the ${limit}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
