import { type RoomcastApi, RoomcastApiError } from '@roomcast/client';
import type { AdminStats } from '@roomcast/protocol';
import { computeRates, type StatsRates } from './stats-rates.ts';

export interface StatsPollerHandlers {
  /** A new sample, with the rates since the previous one (none for the first). */
  sample(stats: AdminStats, rates: StatsRates | undefined): void;
  /** A poll failed; `fatal` when polling stopped (the token is refused). */
  error(error: unknown, fatal: boolean): void;
}

/**
 * Reads `GET /v1/admin/stats` every `intervalMs` (one request at a time; the next waits for the
 * answer) and turns consecutive samples into rates. Stops for good on 401/403.
 */
export class StatsPoller {
  #previous: AdminStats | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    private readonly api: RoomcastApi,
    private readonly intervalMs: number,
    private readonly handlers: StatsPollerHandlers,
  ) {}

  start(): void {
    void this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const stats = await this.api.request<AdminStats>('GET', '/v1/admin/stats', { rateLimitRetries: 0 });
      if (this.#stopped) return;
      const rates = this.#previous === undefined ? undefined : computeRates(this.#previous, stats);
      this.#previous = stats;
      this.handlers.sample(stats, rates);
    } catch (error) {
      const fatal = error instanceof RoomcastApiError && (error.status === 401 || error.status === 403);
      this.handlers.error(error, fatal);
      if (fatal) {
        this.stop();
        return;
      }
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#poll(), this.intervalMs);
  }
}
