export { Backoff, type BackoffOptions, DEFAULT_BACKOFF, jitterDelay } from './backoff.ts';
export type { ClientEvents, ConnectionStatus, PeerSignal } from './client-events.ts';
export type { TransportMode } from './connection-manager.ts';
export { Emitter, type Listener } from './emitter.ts';
export {
  type ConnectionErrorCode,
  RoomcastApiError,
  RoomcastClientError,
  RoomcastConnectionError,
} from './errors.ts';
export type { HeartbeatOptions } from './heartbeat.ts';
export {
  type EventsPage,
  type FetchLike,
  type InboxPage,
  type ModerationInput,
  type PeerSignalInput,
  type RequestOptions,
  RoomcastApi,
  type RoomcastApiOptions,
} from './http-api.ts';
export { RoomSubscription } from './room-subscription.ts';
export type { RoomLeft, RoomReset, RoomSubscriptionEvents } from './room-sync.ts';
export { RoomcastClient, type RoomcastClientOptions } from './roomcast-client.ts';
export type { PartialValue, ReadonlyStateView, StateChange } from './state-view.ts';
export type { TokenSource } from './token-provider.ts';
export type { CloseInfo, TransportKind } from './transport.ts';
export type { WebSocketConstructor, WebSocketLike } from './ws-transport.ts';
