import type { GatewayDirectory, GatewayRecord } from '../../core/ports/gateway-directory.ts';

/**
 * MemoryGatewayDirectory: GatewayDirectory in one process (`roomcast dev`, tests). Lapsed entries
 * are skipped and freed on read; there are few gateways, so no sweep timer is needed.
 */
export class MemoryGatewayDirectory implements GatewayDirectory {
  readonly #entries = new Map<string, { record: GatewayRecord; expiresAt: number }>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async announce(gateway: GatewayRecord, ttlMs: number): Promise<void> {
    this.#entries.set(gateway.id, { record: { ...gateway }, expiresAt: this.#now() + ttlMs });
  }

  async withdraw(gatewayId: string): Promise<void> {
    this.#entries.delete(gatewayId);
  }

  async list(): Promise<GatewayRecord[]> {
    const now = this.#now();
    const live: GatewayRecord[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(id);
      else live.push({ ...entry.record });
    }
    return live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
