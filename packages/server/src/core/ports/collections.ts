import type { GatewayDirectory } from './gateway-directory.ts';
import type { ModerationStore } from './moderation.ts';
import type { PeerInbox } from './peer-inbox.ts';
import type { ConnectionRegistry, RoomPresence } from './presence.ts';
import type { RateLimits } from './rate-limits.ts';
import type { RoomHistory } from './room-history.ts';
import type { RoomStateStore } from './room-state.ts';

/** The collection ports that live in Redis in production and in memory in `roomcast dev`. */
export interface Collections {
  history: RoomHistory;
  state: RoomStateStore;
  inbox: PeerInbox;
  registry: ConnectionRegistry;
  presence: RoomPresence;
  gateways: GatewayDirectory;
  moderation: ModerationStore;
  rateLimits: RateLimits;
  /** Resolves when the engine answers; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
