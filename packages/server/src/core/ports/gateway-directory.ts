/** A gateway as dispatch sees it: where clients reach it and which group it belongs to. */
export interface GatewayRecord {
  /** The gateway's ID (`gatewayId`), unique in the cluster. */
  id: string;
  /** Dispatch maps rooms to groups; every gateway of a group serves the same rooms. */
  group: string;
  /** The WebSocket URL clients connect to, `ws(s)://…/v1/ws`. */
  url: string;
}

/**
 * GatewayDirectory: the gateways that accept clients now, announced by the gateways themselves,
 * read by the dispatch endpoint.
 *
 * Guarantees (gateway directory contract suite):
 * - `announce` records or refreshes a gateway (its group and URL replace earlier ones); the entry
 *   lapses after `ttlMs` unless announced again, so a dead gateway leaves by itself.
 * - `withdraw` removes a gateway at once (drain, shutdown); withdrawing an unknown ID is no error.
 * - `list` returns every unexpired gateway once, sorted by ID.
 */
export interface GatewayDirectory {
  announce(gateway: GatewayRecord, ttlMs: number): Promise<void>;
  withdraw(gatewayId: string): Promise<void>;
  list(): Promise<GatewayRecord[]>;
}
