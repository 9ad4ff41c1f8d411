import type { RoomEvent } from '@roomcast/protocol';

/**
 * The newest events a room channel dispatched, in seq order, in a fixed ring. It serves resuming
 * clients whose cursor is recent without any history read — what makes a reconnect storm cheap.
 */
export class RecentEvents {
  private readonly ring: Array<RoomEvent | undefined>;
  private start = 0;
  private count = 0;

  constructor(capacity: number) {
    this.ring = new Array(Math.max(1, capacity));
  }

  push(event: RoomEvent): void {
    const cap = this.ring.length;
    if (this.count < cap) {
      this.ring[(this.start + this.count) % cap] = event;
      this.count++;
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % cap;
    }
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
    this.ring.fill(undefined);
  }

  /** True when every event after `cursor` that this ring has seen is still in it. */
  covers(cursor: number): boolean {
    if (this.count === 0) return false;
    const oldest = this.ring[this.start] as RoomEvent;
    return cursor >= oldest.seq - 1;
  }

  /** Events with seq > cursor, oldest first. */
  after(cursor: number): RoomEvent[] {
    const out: RoomEvent[] = [];
    const cap = this.ring.length;
    for (let i = 0; i < this.count; i++) {
      const e = this.ring[(this.start + i) % cap] as RoomEvent;
      if (e.seq > cursor) out.push(e);
    }
    return out;
  }
}
