import type { RoomcastApi } from '@roomcast/client';
import { partialText } from './partial-text.ts';

/** State reads in flight at once, so a long list does not burst the server. */
const CONCURRENCY = 4;

interface KnownState {
  /** The versions of the partials read so far: the next read asks only for what changed. */
  versions: Record<string, number>;
  title: string;
}

/**
 * The titles rooms show now, for pages that list rooms (the lobby, the dashboard). A host edits
 * the title as the `title` state partial, which is what viewers in the room see; `GET /v1/rooms`
 * and `GET /v1/admin/stats` answer the title the room was started with. So a list also reads each
 * listed room's state: after the first read only the partials whose version moved (`have`), a
 * few rooms at a time. A room whose state cannot be read keeps the title the list gave.
 */
export class RoomTitles {
  readonly #known = new Map<string, KnownState>();
  #running: Promise<boolean> | undefined;

  constructor(private readonly api: RoomcastApi) {}

  /** The title to show: the state's when it has one, else the one the list gave. */
  title(room: { id: string; title: string }): string {
    const title = this.#known.get(room.id)?.title;
    return title === undefined || title === '' ? room.title : title;
  }

  /**
   * Reads the state of these rooms and forgets the others. Resolves with whether a title changed;
   * never rejects. A call while one runs waits for it instead of starting another.
   */
  refresh(roomIds: readonly string[]): Promise<boolean> {
    this.#running ??= this.#refresh(roomIds).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #refresh(roomIds: readonly string[]): Promise<boolean> {
    const listed = new Set(roomIds);
    for (const id of this.#known.keys()) if (!listed.has(id)) this.#known.delete(id);
    const queue = [...listed];
    let changed = false;
    const work = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        if (await this.#read(id)) changed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, work));
    return changed;
  }

  async #read(roomId: string): Promise<boolean> {
    const known = this.#known.get(roomId);
    try {
      const snapshot = await this.api.getState(roomId, known?.versions, { rateLimitRetries: 0 });
      const next: KnownState = known ?? { versions: {}, title: '' };
      for (const [name, partial] of Object.entries(snapshot.partials)) next.versions[name] = partial.v;
      const title = snapshot.partials.title;
      const before = next.title;
      if (title !== undefined) next.title = partialText(title.value);
      this.#known.set(roomId, next);
      return next.title !== before;
    } catch {
      return false; // Unreadable now (ended, private, unreachable): the list's title stands.
    }
  }
}
