/**
 * Structural limits on every JSON or MessagePack value a client sends (PROTOCOL.md v1.1,
 * "Structural limits"). Byte limits alone do not bound the cost of a value: 3 KB of `[[[[…]]]]`
 * is 1,500 levels deep and overflows the stack of any recursive encoder (msgpackr, JSON.stringify)
 * that touches it later, on the fan-out path. So values are walked once, where bytes become values,
 * by an iterative walk that cannot itself overflow.
 */
export interface JsonLimits {
  /** Deepest nesting of arrays and objects; a scalar at top level is depth 0, `{}` is depth 1. */
  maxDepth: number;
  /** Most keys in one object. */
  maxKeys: number;
  /** Most items in one array. */
  maxItems: number;
}

/** The defaults of the `limits.json` settings. */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxKeys: 256, maxItems: 1024 };

/** Which limit a value broke, with the path to where it broke it (`data.a[3]`). */
export interface JsonLimitViolation {
  limit: 'depth' | 'keys' | 'items' | 'type' | 'key';
  path: string;
  message: string;
}

/**
 * Walks `value` without recursion and returns the first limit it breaks, or undefined when it is
 * within every limit. Besides the counts it refuses what is not JSON (functions, symbols, bigint,
 * non-finite numbers, class instances other than plain objects and arrays, binary) and the key
 * `__proto__`, which some decoders turn into a prototype instead of a key.
 *
 * `root` names the value in messages (`data`, `value`, `frame`).
 */
export function checkJsonLimits(
  value: unknown,
  limits: JsonLimits,
  root = 'value',
): JsonLimitViolation | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: root }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number; path: string };
    const v = item.value;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return violation('type', item.path, 'is not a finite number');
      continue;
    }
    if (typeof v !== 'object') return violation('type', item.path, `is a ${typeof v}, not JSON`);
    const depth = item.depth + 1;
    if (depth > limits.maxDepth) {
      return violation('depth', item.path, `nests deeper than ${limits.maxDepth} levels`);
    }
    if (Array.isArray(v)) {
      if (v.length > limits.maxItems) {
        return violation('items', item.path, `has ${v.length} items; at most ${limits.maxItems}`);
      }
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, path: `${item.path}[${i}]` });
      continue;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      return violation('type', item.path, 'is not a plain JSON object');
    }
    const keys = Object.keys(v);
    if (keys.length > limits.maxKeys) {
      return violation('keys', item.path, `has ${keys.length} keys; at most ${limits.maxKeys}`);
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      if (key === '__proto__') return violation('key', item.path, 'has the key "__proto__"');
      stack.push({ value: (v as Record<string, unknown>)[key], depth, path: `${item.path}.${key}` });
    }
  }
  return undefined;
}

function violation(limit: JsonLimitViolation['limit'], path: string, what: string): JsonLimitViolation {
  return { limit, path, message: `${path.length > 120 ? `${path.slice(0, 117)}...` : path} ${what}` };
}
