import type { JsonLimits } from '@roomcast/protocol';

/** The structural limits of the `limits.json*` settings, as `checkJsonLimits` takes them. */
export function jsonLimitsOf(limits: {
  jsonMaxDepth: number;
  jsonMaxKeys: number;
  jsonMaxItems: number;
}): JsonLimits {
  return { maxDepth: limits.jsonMaxDepth, maxKeys: limits.jsonMaxKeys, maxItems: limits.jsonMaxItems };
}
