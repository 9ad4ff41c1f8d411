/**
 * Room size distributions and how the clients of a plan are split over the client workers. Pure
 * functions: the sizes are unit-tested.
 */
import type { DialectName } from './client-dialect.ts';
import { CONNECTIONS_PER_ADDRESS } from './room-setup.ts';
import type { ConnectCommand } from './worker-protocol.ts';

/**
 * `total` members over `rooms` rooms with Zipf sizes: room k (1-based) gets a share ∝ 1/k^exponent,
 * rounded by largest remainder so the sizes add up to `total` exactly, largest first. Every room
 * gets at least one member when total ≥ rooms.
 */
export function zipfSizes(total: number, rooms: number, exponent: number): number[] {
  if (rooms <= 0 || total <= 0) return [];
  const floor = total >= rooms ? 1 : 0;
  const spread = total - floor * rooms;
  const weights = Array.from({ length: rooms }, (_, k) => 1 / (k + 1) ** exponent);
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const exact = weights.map((weight) => (weight / weightSum) * spread);
  const sizes = exact.map((share) => floor + Math.floor(share));
  let missing = total - sizes.reduce((sum, size) => sum + size, 0);
  const byRemainder = exact
    .map((share, index) => ({ index, remainder: share - Math.floor(share) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (missing <= 0) break;
    sizes[index] = (sizes[index] ?? 0) + 1;
    missing--;
  }
  return sizes.sort((a, b) => b - a);
}

/** `total` members over `rooms` rooms as evenly as possible (the first rooms get one more). */
export function evenSizes(total: number, rooms: number): number[] {
  if (rooms <= 0) return [];
  const base = Math.floor(total / rooms);
  return Array.from({ length: rooms }, (_, index) => base + (index < total % rooms ? 1 : 0));
}

/** One huge room of `huge` members, then a Zipf tail of `tailRooms` rooms sharing `tailMembers`. */
export function hugeRoomWithTail(
  huge: number,
  tailRooms: number,
  tailMembers: number,
  exponent: number,
): number[] {
  return [huge, ...zipfSizes(tailMembers, tailRooms, exponent)];
}

/** How to connect a plan's clients. */
export interface ConnectPlan {
  dialect: DialectName;
  /** Base WebSocket URL per node: connection i goes to wsUrls[i mod length]… */
  wsUrls: string[];
  /** …unless its room is here: then to one of these, in turn (the gateways dispatch named). */
  roomWsUrls?: ReadonlyMap<string, readonly string[]>;
  /** Room IDs, one per size. */
  rooms: string[];
  sizes: number[];
  /** Tokens, used round-robin. */
  tokens: string[];
  workers: number;
  /** Connections per batch over all workers. */
  batchSize: number;
  batchPauseMs: number;
  openLoop: boolean;
  joinTimeoutMs: number;
  /**
   * First source address 127.0.0.<addressBase>. Each system of a run gets its own block, so the
   * previous system's client ports, still in TIME_WAIT, do not exhaust the next one's.
   */
  addressBase: number;
}

/**
 * One connect command per worker. Client i (numbered room by room) goes to worker i mod workers,
 * so every worker holds a share of every room; source addresses 127.0.0.1, .2, … take turns so
 * no address needs more than CONNECTIONS_PER_ADDRESS ephemeral ports.
 */
export function connectCommands(plan: ConnectPlan): ConnectCommand[] {
  const total = plan.sizes.reduce((sum, size) => sum + size, 0);
  const addressCount = Math.max(1, Math.ceil(total / CONNECTIONS_PER_ADDRESS));
  const commands: ConnectCommand[] = Array.from({ length: plan.workers }, () => ({
    type: 'connect',
    wsUrl: plan.wsUrls[0] ?? '',
    subprotocol: '',
    room: plan.rooms[0] ?? '',
    tokens: [],
    localAddresses: [],
    rooms: [],
    wsUrls: [],
    dialect: plan.dialect,
    batchSize: Math.max(1, Math.ceil(plan.batchSize / plan.workers)),
    batchPauseMs: plan.batchPauseMs,
    openLoop: plan.openLoop,
    joinTimeoutMs: plan.joinTimeoutMs,
  }));
  let i = 0;
  plan.sizes.forEach((size, roomIndex) => {
    const room = plan.rooms[roomIndex] ?? '';
    for (let member = 0; member < size; member++, i++) {
      const command = commands[i % plan.workers];
      if (command === undefined) continue;
      command.tokens.push(plan.tokens[i % plan.tokens.length] ?? '');
      command.localAddresses.push(`127.0.0.${plan.addressBase + (i % addressCount)}`);
      command.rooms?.push(room);
      const dispatched = plan.roomWsUrls?.get(room);
      command.wsUrls?.push(
        (dispatched !== undefined && dispatched.length > 0
          ? dispatched[member % dispatched.length]
          : plan.wsUrls[i % plan.wsUrls.length]) ?? '',
      );
    }
  });
  return commands;
}
