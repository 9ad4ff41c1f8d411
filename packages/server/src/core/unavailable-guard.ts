import { StoreUnavailableError } from './ports/store-unavailable.ts';

/**
 * Wraps every method of `target` so that a rejection the adapter classifies as "engine
 * unreachable" becomes a StoreUnavailableError naming `store`, and `onUnavailable` hears of it
 * (metrics). Other rejections and all results pass through unchanged. One place for the mapping
 * instead of a try/catch in every adapter method.
 */
export function guardUnavailable<T extends object>(
  target: T,
  store: string,
  isUnavailable: (err: unknown) => boolean,
  onUnavailable?: (store: string, err: unknown) => void,
): T {
  const wrapped = new Map<PropertyKey, unknown>();
  const map = (err: unknown): never => {
    if (err instanceof StoreUnavailableError) throw err;
    if (!isUnavailable(err)) throw err;
    onUnavailable?.(store, err);
    throw new StoreUnavailableError(store, err);
  };
  return new Proxy(target, {
    get(obj, key) {
      // The target as receiver: getters of classes with #private fields fail on the proxy.
      const value: unknown = Reflect.get(obj, key);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(key);
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          let result: unknown;
          try {
            result = method.apply(obj, args);
          } catch (err) {
            return map(err);
          }
          return result instanceof Promise ? result.catch(map) : result;
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}
