import type { GatewayStats } from '@roomcast/protocol';
import type { GatewayDirectory, GatewayRecord } from '../core/ports/gateway-directory.ts';

/** How long one gateway may take to answer before it is listed as unreachable. */
const GATEWAY_STATS_TIMEOUT_MS = 1_000;

/** `ws(s)://host/…/v1/ws` → `http(s)://host/…`: the gateway's ops HTTP base. */
export function gatewayHttpBase(wsUrl: string): string | undefined {
  try {
    const url = new URL(wsUrl);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined;
    url.protocol = url.protocol === 'ws:' ? 'http:' : 'https:';
    url.pathname = url.pathname.replace(/\/v1\/ws\/?$/, '');
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return undefined;
  }
}

function unreachable(gateway: GatewayRecord): GatewayStats {
  return {
    id: gateway.id,
    group: gateway.group,
    connections: 0,
    roomChannels: 0,
    sendQueueBytes: 0,
    sendQueueSoftBytes: 0,
    draining: false,
    unreachable: true,
  };
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** The entry for `id` in a gateway's `/v1/admin/stats` answer, if it is well formed. */
function entryOf(body: unknown, id: string): GatewayStats | undefined {
  const list = (body as { gateways?: unknown } | null)?.gateways;
  if (!Array.isArray(list)) return undefined;
  const entry = list.find((g: unknown) => (g as { id?: unknown } | null)?.id === id) as
    | Record<string, unknown>
    | undefined;
  if (entry === undefined) return undefined;
  const { connections, roomChannels, sendQueueBytes, sendQueueSoftBytes, draining } = entry;
  if (![connections, roomChannels, sendQueueBytes, sendQueueSoftBytes].every(isCount)) return undefined;
  if (typeof draining !== 'boolean') return undefined;
  return {
    id,
    connections: connections as number,
    roomChannels: roomChannels as number,
    sendQueueBytes: sendQueueBytes as number,
    sendQueueSoftBytes: sendQueueSoftBytes as number,
    draining,
  };
}

/**
 * Every gateway announced to dispatch, with its own figures: the API node reads each gateway's
 * `GET /v1/admin/stats` at its announced address with the caller's (admin) bearer token, all at
 * once, one second each. A gateway that does not answer in time, or answers nonsense, is listed
 * as `unreachable` with zeros rather than failing the whole answer.
 */
export async function clusterGatewayStats(
  directory: GatewayDirectory,
  authorization: string,
  fetchImpl: typeof fetch = fetch,
): Promise<GatewayStats[]> {
  const gateways = await directory.list();
  return Promise.all(
    gateways.map(async (gateway) => {
      const base = gatewayHttpBase(gateway.url);
      if (base === undefined) return unreachable(gateway);
      try {
        const response = await fetchImpl(`${base}/v1/admin/stats`, {
          headers: { authorization, accept: 'application/json' },
          signal: AbortSignal.timeout(GATEWAY_STATS_TIMEOUT_MS),
        });
        if (!response.ok) return unreachable(gateway);
        const entry = entryOf(await response.json(), gateway.id);
        return entry === undefined ? unreachable(gateway) : { ...entry, group: gateway.group };
      } catch {
        return unreachable(gateway);
      }
    }),
  );
}
