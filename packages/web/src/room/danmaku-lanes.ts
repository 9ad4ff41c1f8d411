/**
 * Which lane a flying comment may enter, so that comments never overlap: all move at one speed,
 * so a lane is free again once its last comment's tail has moved `gapPx` past the entry edge.
 */
export class LaneScheduler {
  #freeAt: number[] = [];

  constructor(
    lanes: number,
    /** Pixels per millisecond, the same for every comment (so none catches up with another). */
    public speedPxPerMs: number,
    private readonly gapPx = 32,
  ) {
    this.setLanes(lanes);
  }

  get lanes(): number {
    return this.#freeAt.length;
  }

  /** Changes the number of lanes (the stage was resized); lanes kept keep their reservations. */
  setLanes(count: number): void {
    const n = Math.max(0, Math.floor(count));
    this.#freeAt = Array.from({ length: n }, (_, i) => this.#freeAt[i] ?? 0);
  }

  /** How many lanes could take a comment at `now`. */
  freeCount(now: number): number {
    return this.#freeAt.reduce((n, at) => (at <= now ? n + 1 : n), 0);
  }

  /** Reserves the free lane that freed up first for a comment `widthPx` wide; -1 if none is free. */
  take(widthPx: number, now: number): number {
    let best = -1;
    for (let i = 0; i < this.#freeAt.length; i++) {
      const at = this.#freeAt[i] ?? 0;
      if (at <= now && (best === -1 || at < (this.#freeAt[best] ?? 0))) best = i;
    }
    if (best !== -1) this.#freeAt[best] = now + (widthPx + this.gapPx) / this.speedPxPerMs;
    return best;
  }
}

/** A comment waiting to fly; `count` > 1 when identical comments were merged into it. */
export interface QueuedBullet {
  text: string;
  count: number;
  /** The viewer's own comment: jumps the queue and is never dropped. */
  own: boolean;
}

/**
 * The bounded queue in front of the lanes. When comments arrive faster than lanes free up, an
 * identical waiting comment absorbs the new one (`×N`), and beyond `capacity` the oldest waiting
 * comment of someone else is dropped: the stage shows a sample, never a growing backlog.
 */
export class BulletQueue {
  readonly #items: QueuedBullet[] = [];
  #merged = 0;
  #dropped = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.#items.length;
  }

  /** Comments folded into an identical waiting one. */
  get merged(): number {
    return this.#merged;
  }

  /** Comments dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  push(text: string, own = false): void {
    const same = this.#items.find((item) => item.text === text && item.own === own);
    if (same !== undefined) {
      same.count++;
      this.#merged++;
      return;
    }
    const item: QueuedBullet = { text, count: 1, own };
    if (own) this.#items.unshift(item);
    else this.#items.push(item);
    while (this.#items.length > this.capacity) {
      const victim = this.#items.findIndex((i) => !i.own);
      if (victim === -1) break;
      this.#items.splice(victim, 1);
      this.#dropped++;
    }
  }

  shift(): QueuedBullet | undefined {
    return this.#items.shift();
  }

  clear(): void {
    this.#dropped += this.#items.reduce((n, item) => n + item.count, 0);
    this.#items.length = 0;
  }
}
