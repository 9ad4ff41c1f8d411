import type { ConnectionRegistry, RoomPresence } from '../../core/ports/presence.ts';

export interface MemoryPresenceOptions {
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
  /**
   * How often expired entries are freed. Reads already ignore them, so this only bounds memory
   * held for gateways and users that went away. Defaults to 30 s.
   */
  sweepIntervalMs?: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

/**
 * MemoryConnectionRegistry: ConnectionRegistry in one process.
 *
 * Each user → gateway entry carries its own expiry; `locate` skips (and frees) expired entries, so
 * it never returns a gateway whose registration has lapsed, and answers for every asked user.
 */
export class MemoryConnectionRegistry implements ConnectionRegistry {
  /** user → gateway → expiry (ms since the epoch). */
  readonly #entries = new Map<string, Map<string, number>>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryPresenceOptions = {}) {
    this.#now = options.now ?? Date.now;
    const sweepMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
  }

  async register(gatewayId: string, users: readonly string[], ttlMs: number): Promise<void> {
    const expiresAt = this.#now() + ttlMs;
    for (const user of users) {
      let gateways = this.#entries.get(user);
      if (gateways === undefined) {
        gateways = new Map();
        this.#entries.set(user, gateways);
      }
      gateways.set(gatewayId, expiresAt);
    }
  }

  async unregister(gatewayId: string, users: readonly string[]): Promise<void> {
    for (const user of users) {
      const gateways = this.#entries.get(user);
      if (gateways === undefined) continue;
      gateways.delete(gatewayId);
      if (gateways.size === 0) this.#entries.delete(user);
    }
  }

  async locate(users: readonly string[]): Promise<Map<string, string[]>> {
    const now = this.#now();
    const located = new Map<string, string[]>();
    for (const user of users) {
      const gateways = this.#entries.get(user);
      located.set(user, gateways === undefined ? [] : this.#unexpired(user, gateways, now));
    }
    return located;
  }

  /** Stops the sweep timer. The registry stays usable. */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #unexpired(user: string, gateways: Map<string, number>, now: number): string[] {
    const live: string[] = [];
    for (const [gatewayId, expiresAt] of gateways) {
      if (expiresAt > now) live.push(gatewayId);
      else gateways.delete(gatewayId);
    }
    if (gateways.size === 0) this.#entries.delete(user);
    return live;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [user, gateways] of this.#entries) this.#unexpired(user, gateways, now);
  }
}

interface GatewayReport {
  expiresAt: number;
  /** The rooms where this gateway has a non-zero count, to remove it from them when it expires. */
  readonly rooms: Set<string>;
}

interface MemberSet {
  readonly users: Set<string>;
  expiresAt: number;
}

/**
 * MemoryRoomPresence: RoomPresence in one process.
 *
 * A gateway's counts share one expiry, refreshed by each of its reports (so a gateway may report
 * only the rooms that changed); once it lapses, all of that gateway's counts are gone, and a later
 * report starts from nothing. Expired gateways are removed before every read, so `counts` and
 * `rooms` only ever see live reports. A room's member set expires `ttlMs` after its last addition.
 */
export class MemoryRoomPresence implements RoomPresence {
  readonly #gateways = new Map<string, GatewayReport>();
  /** room → gateway → count (> 0); a room with no live count has no entry. */
  readonly #counts = new Map<string, Map<string, number>>();
  readonly #members = new Map<string, MemberSet>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryPresenceOptions = {}) {
    this.#now = options.now ?? Date.now;
    const sweepMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
  }

  async report(gatewayId: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    const now = this.#now();
    this.#expireGateways(now);
    let gateway = this.#gateways.get(gatewayId);
    if (gateway === undefined) {
      gateway = { expiresAt: 0, rooms: new Set() };
      this.#gateways.set(gatewayId, gateway);
    }
    gateway.expiresAt = now + ttlMs;
    for (const [room, count] of counts) {
      if (count > 0) {
        let perGateway = this.#counts.get(room);
        if (perGateway === undefined) {
          perGateway = new Map();
          this.#counts.set(room, perGateway);
        }
        perGateway.set(gatewayId, count);
        gateway.rooms.add(room);
      } else {
        this.#removeFromRoom(room, gatewayId);
        gateway.rooms.delete(room);
      }
    }
  }

  async counts(rooms: readonly string[]): Promise<Map<string, number>> {
    this.#expireGateways(this.#now());
    const totals = new Map<string, number>();
    for (const room of rooms) {
      let total = 0;
      for (const count of this.#counts.get(room)?.values() ?? []) total += count;
      totals.set(room, total);
    }
    return totals;
  }

  async rooms(): Promise<string[]> {
    this.#expireGateways(this.#now());
    return [...this.#counts.keys()];
  }

  async addMembers(room: string, users: readonly string[], ttlMs: number): Promise<void> {
    const now = this.#now();
    let members = this.#liveMembers(room, now);
    if (members === undefined) {
      members = { users: new Set(), expiresAt: 0 };
      this.#members.set(room, members);
    }
    members.expiresAt = now + ttlMs;
    for (const user of users) members.users.add(user);
  }

  async areMembers(room: string, users: readonly string[]): Promise<boolean[]> {
    const members = this.#liveMembers(room, this.#now());
    return users.map((user) => members?.users.has(user) ?? false);
  }

  /** Stops the sweep timer. The presence store stays usable. */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /**
   * Removes every lapsed gateway with all its counts. O(gateways), which stays small (one entry per
   * gateway process), and keeps `counts` and `rooms` free of expiry checks.
   */
  #expireGateways(now: number): void {
    for (const [gatewayId, gateway] of this.#gateways) {
      if (gateway.expiresAt > now) continue;
      for (const room of gateway.rooms) this.#removeFromRoom(room, gatewayId);
      this.#gateways.delete(gatewayId);
    }
  }

  #removeFromRoom(room: string, gatewayId: string): void {
    const perGateway = this.#counts.get(room);
    if (perGateway === undefined) return;
    perGateway.delete(gatewayId);
    if (perGateway.size === 0) this.#counts.delete(room);
  }

  #liveMembers(room: string, now: number): MemberSet | undefined {
    const members = this.#members.get(room);
    if (members === undefined || members.expiresAt > now) return members;
    this.#members.delete(room);
    return undefined;
  }

  #sweep(): void {
    const now = this.#now();
    this.#expireGateways(now);
    for (const [room, members] of this.#members) {
      if (members.expiresAt <= now) this.#members.delete(room);
    }
  }
}
