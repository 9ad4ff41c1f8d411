/**
 * Runs `work` for every item with at most `limit` running at once, in order of the items, and
 * resolves when all are done (rejects with the first failure; `work` catches what it may survive).
 */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  });
  await Promise.all(lanes);
}
