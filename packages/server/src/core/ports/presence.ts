/**
 * ConnectionRegistry: which gateways hold a connection of which user, so that a peer signal goes
 * only to the gateways that can deliver it.
 *
 * Guarantees (registry contract suite):
 * - `register` records (or refreshes) user → gateway entries that expire after `ttlMs` unless
 *   registered again; `unregister` removes them at once.
 * - `locate` returns, for each asked user, the gateways with an unexpired entry (possibly none).
 */
export interface ConnectionRegistry {
  register(gatewayId: string, users: readonly string[], ttlMs: number): Promise<void>;
  unregister(gatewayId: string, users: readonly string[]): Promise<void>;
  locate(users: readonly string[]): Promise<Map<string, string[]>>;
}

/**
 * RoomPresence: how many connections each room has, reported by each gateway, and which users
 * have been members of a room (to authorize a host's peer targets).
 *
 * Guarantees (presence contract suite):
 * - `report` replaces the gateway's previous counts for the rooms it names (a count of 0 removes
 *   the gateway from that room); a gateway's counts expire after `ttlMs` unless reported again,
 *   so a dead gateway's connections disappear by themselves.
 * - `counts` sums the unexpired reports of every gateway; rooms with none count 0.
 * - `rooms` lists the rooms with a non-zero unexpired count.
 * - `addMembers`/`areMembers`: a per-room set of users seen in the room, kept while the room is
 *   active (expires after `ttlMs` of no additions).
 */
export interface RoomPresence {
  report(gatewayId: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void>;
  counts(rooms: readonly string[]): Promise<Map<string, number>>;
  rooms(): Promise<string[]>;
  addMembers(room: string, users: readonly string[], ttlMs: number): Promise<void>;
  areMembers(room: string, users: readonly string[]): Promise<boolean[]>;
}
