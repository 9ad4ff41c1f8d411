import type { SeqRange } from '../../core/ports/room-history.ts';
import type { SeqReservations } from '../../core/ports/seq-reservations.ts';

/**
 * MemorySeqReservations: SeqReservations in this process. Not durable: it outlives a room
 * history only while the process runs, which is what tests and benchmarks need (they lose a
 * history on purpose and keep the process). `roomcast dev` reserves in its rooms database instead.
 */
export class MemorySeqReservations implements SeqReservations {
  readonly #ceilings = new Map<string, number>();

  async reserve(room: string, above: number, count: number): Promise<SeqRange> {
    const floor = Math.max(this.#ceilings.get(room) ?? 0, above);
    const ceiling = floor + count;
    this.#ceilings.set(room, ceiling);
    return { floor, ceiling };
  }
}
