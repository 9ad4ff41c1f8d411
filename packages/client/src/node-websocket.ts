import type { WebSocketConstructor } from './ws-transport.ts';

/** True in Node (and runtimes that mimic it), where the `ws` package may stand in for a global WebSocket. */
export function runsOnNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** The runtime's own `WebSocket` (browsers, Node 22+, Deno, Bun), if any. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return typeof ctor === 'function' ? ctor : undefined;
}

/**
 * The `ws` package's WebSocket when it is installed beside the SDK (Node 20 has no global one),
 * else undefined. The specifier is a variable so that bundlers leave the import alone: browsers
 * never reach this.
 */
export async function loadNodeWebSocket(): Promise<WebSocketConstructor | undefined> {
  const specifier = 'ws';
  try {
    const mod = (await import(/* @vite-ignore */ specifier)) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const ctor = mod.WebSocket ?? mod.default;
    return typeof ctor === 'function' ? ctor : undefined;
  } catch {
    return undefined;
  }
}

/** What to do when there is no WebSocket in Node: said once per client, in the error and the warning. */
export const NO_NODE_WEBSOCKET =
  'no WebSocket in this runtime (Node 20 has none): `npm install ws` beside @roomcast/client, or pass `webSocket` (e.g. `import { WebSocket } from "ws"`)';
