import type { RoomcastApi } from './http-api.ts';
import { webSocketUrl } from './ws-transport.ts';

/**
 * Chooses the gateway a WebSocket connects to. With a room to ask about (the first joined room,
 * else the `room` hint), it asks the dispatch endpoint which gateways serve that room and picks
 * one at random — preferring one other than the gateway of the previous connection, which may be
 * draining or dead while its directory entry has not lapsed yet. Without a room, or when the
 * endpoint fails or names no gateway, it uses the client's own base URL. Internal.
 */
export class GatewayDispatch {
  #last: string | undefined;
  /** The gateways dispatch named last time it answered. */
  #known: string[] = [];

  constructor(
    private readonly options: {
      baseUrl: string;
      api: RoomcastApi;
      /** The room to dispatch by now, if any. */
      room: () => string | undefined;
      /** How long the endpoint request may take before the base URL is used. */
      timeoutMs: number;
      random: () => number;
    },
  ) {}

  /** The full WebSocket URL (with the token) to open next. */
  async url(token: string): Promise<string> {
    const gateways = await this.#gateways();
    const previous = this.#last;
    const others = gateways.filter((gateway) => gateway !== previous);
    const pool = others.length > 0 ? others : gateways;
    const chosen = pool[Math.floor(this.options.random() * pool.length)];
    this.#last = chosen;
    if (chosen === undefined) return webSocketUrl(this.options.baseUrl, token);
    const url = new URL(chosen);
    url.searchParams.set('token', token);
    return url.toString();
  }

  async #gateways(): Promise<string[]> {
    const room = this.options.room();
    if (room === undefined) return [];
    try {
      const urls = await this.options.api.roomEndpoints(room, {
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const gateways = urls.filter((url) => /^wss?:\/\//.test(url));
      if (gateways.length > 0) this.#known = gateways;
      return gateways;
    } catch {
      // Dispatch is away for a moment (its store restarting): the gateways it named last are a far
      // better guess than the base URL, which in a cluster is an API node that serves no WebSocket.
      // With none known yet, the base URL (roomcast dev serves both).
      return this.#known;
    }
  }
}
