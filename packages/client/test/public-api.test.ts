import type { JsonValue, RoomEvent } from '@roomcast/protocol';
import { describe, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import {
  type ClientEvents,
  type PeerSignal,
  type RoomcastApiError,
  RoomcastClient,
  type RoomSubscription,
  type RoomSubscriptionEvents,
  type StateChange,
  type TransportKind,
  type WebSocketConstructor,
} from '../src/index.ts';

describe('public API types', () => {
  it('accepts the WebSocket of browsers / Node 22 and of the ws package', () => {
    expectTypeOf(globalThis.WebSocket).toExtend<WebSocketConstructor>();
    expectTypeOf(WebSocket).toExtend<WebSocketConstructor>();
  });

  it('types client and subscription events', () => {
    expectTypeOf<ClientEvents['peer']>().toEqualTypeOf<PeerSignal>();
    expectTypeOf<ClientEvents['transport']>().toEqualTypeOf<{
      transport: TransportKind;
      previous: TransportKind | null;
    }>();
    expectTypeOf<ClientEvents['disconnected']>().toHaveProperty('code').toEqualTypeOf<number>();
    expectTypeOf<RoomSubscriptionEvents['event']>().toEqualTypeOf<RoomEvent>();
    expectTypeOf<RoomSubscriptionEvents['state']>().toEqualTypeOf<StateChange>();
    expectTypeOf<StateChange['value']>().toEqualTypeOf<JsonValue | undefined>();
    expectTypeOf<RoomcastApiError['status']>().toEqualTypeOf<number>();
  });

  it('types the client methods', () => {
    expectTypeOf<RoomcastClient['join']>().returns.resolves.toEqualTypeOf<RoomSubscription>();
    expectTypeOf<RoomcastClient['publish']>().returns.resolves.toEqualTypeOf<number>();
    expectTypeOf<RoomSubscription['state']['partials']>().toEqualTypeOf<
      ReadonlyMap<string, { readonly v: number; readonly value: JsonValue }>
    >();
    const client = new RoomcastClient({ url: 'http://localhost:8080', token: () => 'jwt' });
    // @ts-expect-error: unknown events are rejected
    client.on('nope', () => {});
    client.on('reconnecting', (e) => {
      expectTypeOf(e.delayMs).toEqualTypeOf<number>();
    });
  });
});
