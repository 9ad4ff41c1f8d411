import { LRUCache } from 'lru-cache';
import type { GatewayDirectory, GatewayRecord } from './ports/gateway-directory.ts';
import type { RoomPresence } from './ports/presence.ts';
import { stableHash32 } from './stable-hash.ts';

/** Dispatch settings (the `dispatch` config section). */
export interface RoomDispatchOptions {
  /** A room with more online connections than this is spread over more groups, one per this many. */
  spreadAboveOnline: number;
  /** The most groups one room is spread over. */
  maxGroupsPerRoom: number;
  /** How long an API node reuses the gateway list and a room's online count. */
  cacheMs: number;
}

/**
 * The score of `group` for `room` in rendezvous (highest-random-weight) hashing. Every API node
 * computes the same ranking with no shared state, and adding or removing a group moves only the
 * rooms whose top-ranked group changes: about 1/n of them, the group's own share.
 */
export function rendezvousScore(room: string, group: string): number {
  return stableHash32(`${group}\u0000${room}`);
}

/** `groups` ranked for `room`, best first (ties, which need equal 32-bit scores, by name). */
export function rankGroups(room: string, groups: readonly string[]): string[] {
  return groups
    .map((group) => ({ group, score: rendezvousScore(room, group) }))
    .sort((a, b) => b.score - a.score || (a.group < b.group ? -1 : 1))
    .map((ranked) => ranked.group);
}

/** How many groups a room with `online` connections is spread over. */
export function groupsForOnline(online: number, options: RoomDispatchOptions, available: number): number {
  const wanted = 1 + Math.floor(Math.max(0, online - 1) / options.spreadAboveOnline);
  return Math.max(1, Math.min(wanted, options.maxGroupsPerRoom, available));
}

/** How long the last gateway list read from the directory is served while the directory is unreachable. */
const STALE_DIRECTORY_MS = 5 * 60_000;

/**
 * RoomDispatch: which gateways a room's clients should connect to (`GET /v1/rooms/:room/endpoint`).
 * Rooms map to gateway groups by rendezvous hashing, so a room's viewers concentrate on few
 * gateways and a room event costs few bus messages; a room whose online count passes
 * `spreadAboveOnline` gets the next-ranked groups too, so one huge room is not held by one group.
 * Dispatch concentrates, it does not restrict: every gateway accepts every room.
 */
export class RoomDispatch {
  #gateways: { list: GatewayRecord[]; at: number } | undefined;
  #pendingList: Promise<GatewayRecord[]> | undefined;
  readonly #online: LRUCache<string, number>;

  constructor(
    private readonly deps: {
      directory: GatewayDirectory;
      presence: RoomPresence;
      options: RoomDispatchOptions;
      now?: () => number;
    },
  ) {
    this.#online = new LRUCache({ max: 10_000, ttl: Math.max(1, deps.options.cacheMs) });
  }

  /**
   * The WebSocket URLs of the gateways that serve `room`, best group first; empty when no gateway
   * is announced. Clients pick one at random.
   */
  async endpoints(room: string): Promise<string[]> {
    const gateways = await this.#liveGateways();
    if (gateways.length === 0) return [];
    const byGroup = new Map<string, GatewayRecord[]>();
    for (const gateway of gateways) {
      const members = byGroup.get(gateway.group);
      if (members === undefined) byGroup.set(gateway.group, [gateway]);
      else members.push(gateway);
    }
    const ranked = rankGroups(room, [...byGroup.keys()]);
    const online = ranked.length > 1 ? await this.#onlineCount(room) : 0;
    const chosen = ranked.slice(0, groupsForOnline(online, this.deps.options, ranked.length));
    return chosen.flatMap((group) => (byGroup.get(group) ?? []).map((gateway) => gateway.url));
  }

  async #liveGateways(): Promise<GatewayRecord[]> {
    const now = (this.deps.now ?? Date.now)();
    const cached = this.#gateways;
    if (cached !== undefined && now - cached.at < this.deps.options.cacheMs) return cached.list;
    // One directory read per API node per cache period, however many requests wait for it.
    this.#pendingList ??= this.deps.directory.list().finally(() => {
      this.#pendingList = undefined;
    });
    try {
      const list = await this.#pendingList;
      this.#gateways = { list, at: now };
      return list;
    } catch (err) {
      // The directory's shard is away (a restart): the gateways it last named are still the best
      // answer for a while, far better than none; a dead one among them is skipped by the client.
      if (cached !== undefined && now - cached.at < STALE_DIRECTORY_MS) return cached.list;
      throw err;
    }
  }

  async #onlineCount(room: string): Promise<number> {
    const cached = this.#online.get(room);
    if (cached !== undefined) return cached;
    // Without presence (its shard away) a room is dispatched as a small one: one group.
    const count = await this.deps.presence.counts([room]).then(
      (counts) => counts.get(room) ?? 0,
      () => 0,
    );
    this.#online.set(room, count);
    return count;
  }
}
