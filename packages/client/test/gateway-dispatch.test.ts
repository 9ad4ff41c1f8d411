import { describe, expect, it } from 'vitest';
import { GatewayDispatch } from '../src/gateway-dispatch.ts';
import { RoomcastApi } from '../src/index.ts';
import { FakeFetch, json } from './helpers/fake-fetch.ts';

const GATEWAYS = ['ws://127.0.0.1:9001/v1/ws', 'ws://127.0.0.1:9002/v1/ws'];

function dispatchWith(
  fake: FakeFetch,
  room: string | undefined,
  random = () => 0,
): { dispatch: GatewayDispatch } {
  const api = new RoomcastApi({ url: 'http://api:8080', token: 't', fetch: fake.fetch });
  return {
    dispatch: new GatewayDispatch({
      baseUrl: 'http://api:8080',
      api,
      room: () => room,
      timeoutMs: 1000,
      random,
    }),
  };
}

describe('choosing the gateway a WebSocket connects to', () => {
  it('asks the dispatch endpoint for the room and connects to one of its gateways with the token', async () => {
    const fake = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () => json(200, { ws: GATEWAYS }));
    const { dispatch } = dispatchWith(fake, 'eu_r1');
    expect(await dispatch.url('tok')).toBe('ws://127.0.0.1:9001/v1/ws?token=tok');
    expect(fake.requests[0]?.url.pathname).toBe('/v1/rooms/eu_r1/endpoint');
  });

  it('moves to another gateway of the room on the next connection when there is one', async () => {
    const fake = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () => json(200, { ws: GATEWAYS }));
    const { dispatch } = dispatchWith(fake, 'eu_r1');
    await dispatch.url('a');
    expect(await dispatch.url('b')).toBe('ws://127.0.0.1:9002/v1/ws?token=b');
    expect(await dispatch.url('c')).toBe('ws://127.0.0.1:9001/v1/ws?token=c');
  });

  it('stays on the only gateway the room has', async () => {
    const fake = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () =>
      json(200, { ws: [GATEWAYS[0]] }),
    );
    const { dispatch } = dispatchWith(fake, 'eu_r1');
    await dispatch.url('a');
    expect(await dispatch.url('b')).toBe('ws://127.0.0.1:9001/v1/ws?token=b');
  });

  it('uses the base URL when there is no room to ask about', async () => {
    const fake = new FakeFetch();
    const { dispatch } = dispatchWith(fake, undefined);
    expect(await dispatch.url('tok')).toBe('ws://api:8080/v1/ws?token=tok');
    expect(fake.requests).toEqual([]);
  });

  it('uses the base URL when the endpoint fails or names nothing usable', async () => {
    const failing = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () =>
      json(503, { error: { code: 'unavailable', message: 'no gateway' } }),
    );
    expect(await dispatchWith(failing, 'eu_r1').dispatch.url('t')).toBe('ws://api:8080/v1/ws?token=t');
    const odd = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () => json(200, { ws: ['http://x/'] }));
    expect(await dispatchWith(odd, 'eu_r1').dispatch.url('t')).toBe('ws://api:8080/v1/ws?token=t');
  });

  it('keeps using the gateways dispatch named last while the endpoint fails, not the API URL', async () => {
    let down = false;
    const fake = new FakeFetch().on('GET', '/v1/rooms/eu_r1/endpoint', () =>
      down
        ? json(503, { error: { code: 'unavailable', message: 'directory away' } })
        : json(200, { ws: GATEWAYS }),
    );
    const { dispatch } = dispatchWith(fake, 'eu_r1');
    await dispatch.url('a');
    down = true;
    expect(await dispatch.url('b')).toBe('ws://127.0.0.1:9002/v1/ws?token=b');
  });
});
