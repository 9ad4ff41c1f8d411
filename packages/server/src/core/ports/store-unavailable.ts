/**
 * Thrown by a store (collections, bus, …) that cannot reach its engine: the engine is down,
 * restarting, or its proxy cannot reach the shard. Requests that need it answer `503
 * unavailable` with `Retry-After`, WebSocket ops an `error` frame with code `unavailable`; it is
 * never a 500 and never stops the process. Adapters map their driver's errors to it (see
 * core/unavailable-guard.ts); statements an engine refused for their content stay other errors.
 */
export class StoreUnavailableError extends Error {
  override readonly name: string = 'StoreUnavailableError';
  constructor(
    /** Which store: `collections`, `bus`, a region, … */
    readonly store: string,
    cause?: unknown,
    message = `the ${store} store is temporarily unavailable`,
  ) {
    super(message, { cause });
  }
}
