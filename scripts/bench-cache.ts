/**
 * Memcached peer-cluster availability benchmark: the fraction of reads that must go to the database
 * when cache nodes are down, against the estimate of the design's seeds ("Key-Value Caches": with
 * M and N nodes in two peer clusters and one node down in each, about 1/M × 1/N of the keys are
 * lost; clusters hashed identically would lose about 1/M when the same node index fails in both,
 * which is why each cluster salts its keys differently).
 *
 * Real memcached processes (the test launcher, one per node, loopback) and the product's
 * PeerClusterCache. Every phase starts from a full, healthy cache — every key `room:<i>` stored in
 * every cluster — then kills the phase's nodes (SIGKILL), opens a fresh cache and reads every key
 * once with a loader that counts its calls: loaded fraction = loader calls / keys. Killed nodes
 * are restarted (they come back empty) and refilled before the next phase.
 *
 * "Predicted from the actual spread" counts the keys whose nodes are down in the clusters a read
 * would try (ketama on a few nodes is not perfectly balanced); with two clusters a key is loaded
 * exactly when both its nodes are down, so it must equal the measured fraction.
 *
 * Prints Markdown; writes nothing.
 *
 *   npm run bench:cache [-- --clusters 2 --nodes 3 --keys 20000 --concurrency 200]
 *
 * `--nodes` is the node count of every cluster, or a comma list of one count per cluster (`3,4`).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { MemcachedClusterSpec } from '../packages/server/src/adapters/memcached/memcached-cluster.ts';
import { PeerClusterCache } from '../packages/server/src/adapters/memcached/peer-cluster-cache.ts';
import type { KvCacheObserver, KvFill } from '../packages/server/src/core/ports/kv-cache.ts';
import type { EngineProcess } from '../packages/server/src/engines/engine-process.ts';
import { launchMemcached } from '../packages/server/src/engines/memcached-launcher.ts';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '2' },
    nodes: { type: 'string', default: '3' },
    keys: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '200' },
  },
});
const CLUSTERS = Number(values.clusters);
const NODE_ARG = values.nodes.split(',').map(Number);
const NODES = Array.from({ length: CLUSTERS }, (_, c) => NODE_ARG[Math.min(c, NODE_ARG.length - 1)] ?? 0);
const KEYS = Number(values.keys);
const CONCURRENCY = Number(values.concurrency);
if (!Number.isInteger(CLUSTERS) || CLUSTERS < 2) throw new RangeError('--clusters must be at least 2');
if (NODES.some((n) => !Number.isInteger(n) || n < 2)) throw new RangeError('--nodes must be at least 2');
if (!Number.isInteger(KEYS) || KEYS < 1) throw new RangeError('--keys must be a positive integer');
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) throw new RangeError('--concurrency must be positive');

const ZONE = 'a';
const TTL_SECONDS = 3600;
const KEY_LIST = Array.from({ length: KEYS }, (_, i) => `room:${i}`);

/** A room-record-like JSON value of about 200 bytes. */
function roomValue(key: string): string {
  const record = { id: key, hostId: `us_host${key.slice(5)}`, status: 'live', startedAt: 1_700_000_000 };
  const json = JSON.stringify({ ...record, title: '' });
  return JSON.stringify({ ...record, title: 'x'.repeat(Math.max(0, 200 - json.length)) });
}

/** Every memcached process of the run, stopped on exit, on error and on SIGINT. */
const engines: EngineProcess[] = [];
let interrupted = false;
async function stopAll(): Promise<void> {
  await Promise.all(engines.map((e) => e.stop()));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping ${engines.length} memcached processes`);
    void stopAll().finally(() => process.exit(130));
  });
}

/** Runs `op` once per key with CONCURRENCY callers pulling from one queue. */
async function forEachKey(op: (key: string) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, KEYS) }, async () => {
      for (let i = next++; i < KEYS; i = next++) await op(KEY_LIST[i] as string);
    }),
  );
}

interface Counts {
  reads: number;
  hits: number;
  misses: number;
  unavailable: number;
  heals: number;
  loads: number;
  failed: string[];
}

function openCache(
  specs: readonly MemcachedClusterSpec[],
  counts?: Counts,
  random?: () => number,
): PeerClusterCache {
  const observer: KvCacheObserver | undefined =
    counts === undefined
      ? undefined
      : {
          read: (_cluster, result) => {
            counts.reads++;
            if (result === 'hit') counts.hits++;
            else if (result === 'miss') counts.misses++;
            else counts.unavailable++;
          },
          heal: () => {
            counts.heals++;
          },
          load: () => {
            counts.loads++;
          },
          nodeFailed: (cluster, node) => {
            counts.failed.push(`${cluster}/${node}`);
          },
          nodeRecovered: () => undefined,
        };
  return new PeerClusterCache({
    clusters: specs,
    zone: ZONE,
    keyPrefix: 'bench:',
    timeoutMs: 200,
    // A killed node stays skipped for the whole phase (a probe of it would fail anyway).
    backoffMs: 60_000,
    backoffMaxMs: 60_000,
    missedDeletesMax: 1_000,
    maxValueBytes: 64 * 1024,
    redeleteAfterMs: 0,
    ...(observer === undefined ? {} : { observer }),
    ...(random === undefined ? {} : { random }),
  });
}

function newCounts(): Counts {
  return { reads: 0, hits: 0, misses: 0, unavailable: 0, heals: 0, loads: 0, failed: [] };
}

/**
 * Makes every key present in every cluster: one pass of reads per cluster with that cluster read
 * first (a scripted `random`), so its miss is healed from another cluster or, when every cluster
 * misses, loaded and written to both; then checks every node directly. Answers the loader calls.
 */
async function fill(specs: readonly MemcachedClusterSpec[]): Promise<number> {
  let loads = 0;
  const load = async (key: string): Promise<KvFill> => {
    loads++;
    return { value: roomValue(key), ttlSeconds: TTL_SECONDS };
  };
  for (let round = 0; round < 3; round++) {
    for (let c = 0; c < CLUSTERS; c++) {
      const first = (c + 0.5) / CLUSTERS;
      const cache = openCache(specs, undefined, () => first);
      try {
        await forEachKey(async (key) => {
          await cache.read(key, () => load(key));
        });
      } finally {
        await cache.close();
      }
    }
    const missing = await missingCopies(specs);
    if (missing === 0) return loads;
    if (interrupted) throw new Error('interrupted');
    console.error(`fill round ${round + 1}: ${missing} copies still missing, filling again`);
  }
  throw new Error('could not fill every cluster');
}

/** How many (key, cluster) copies are not on the key's node, asked of the nodes directly. */
async function missingCopies(specs: readonly MemcachedClusterSpec[]): Promise<number> {
  const cache = openCache(specs);
  let missing = 0;
  try {
    await forEachKey(async (key) => {
      const k = cache.keyOf(key);
      for (const cluster of cache.allClusters) {
        if ((await cluster.nodeFor(k).get(k)).kind !== 'hit') missing++;
      }
    });
  } finally {
    await cache.close();
  }
  return missing;
}

/** Keys per node index, per cluster. */
function spread(specs: readonly MemcachedClusterSpec[]): number[][] {
  const cache = openCache(specs);
  try {
    return cache.allClusters.map((cluster) => {
      const perNode = cluster.nodes.map(() => 0);
      for (const key of KEY_LIST) {
        const i = cluster.nodes.indexOf(cluster.nodeFor(cache.keyOf(key)));
        perNode[i] = (perNode[i] ?? 0) + 1;
      }
      return perNode;
    });
  } finally {
    void cache.close();
  }
}

/**
 * The expected loaded fraction given where the keys actually are: a read tries two different
 * clusters of the zone, each ordered pair equally likely, and loads when both its nodes are down.
 */
function predictedFromSpread(specs: readonly MemcachedClusterSpec[], down: ReadonlyArray<[number, number]>) {
  const cache = openCache(specs);
  try {
    const pairs = CLUSTERS * (CLUSTERS - 1);
    let expected = 0;
    for (const key of KEY_LIST) {
      const k = cache.keyOf(key);
      const d = cache.allClusters.filter((cluster, c) =>
        down.some(([dc, dn]) => dc === c && cluster.nodes[dn] === cluster.nodeFor(k)),
      ).length;
      expected += (d * (d - 1)) / pairs;
    }
    return expected / KEYS;
  } finally {
    void cache.close();
  }
}

interface PhaseSpec {
  name: string;
  specs: readonly MemcachedClusterSpec[];
  /** [cluster index, node index] of each node killed. */
  down: ReadonlyArray<[number, number]>;
  predicted: { text: string; value: number };
}

interface PhaseResult {
  phase: PhaseSpec;
  fromSpread: number;
  counts: Counts;
  fillLoads: number;
  seconds: number;
}

async function runPhase(
  phase: PhaseSpec,
  processes: readonly (readonly EngineProcess[])[],
): Promise<PhaseResult> {
  // A full, healthy cache: killed nodes back (empty) and every key in every cluster.
  for (const cluster of processes) {
    for (const engine of cluster) {
      if (engine.child.exitCode !== null || engine.child.signalCode !== null) await engine.restart();
    }
  }
  const fillLoads = await fill(phase.specs);
  for (const [c, n] of phase.down) await processes[c]?.[n]?.kill();

  const counts = newCounts();
  const cache = openCache(phase.specs, counts);
  const started = performance.now();
  try {
    await forEachKey(async (key) => {
      await cache.read(key, async () => ({ value: roomValue(key), ttlSeconds: TTL_SECONDS }));
    });
  } finally {
    await cache.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const downAddresses = new Set(
    phase.down.map(([c, n]) => `${phase.specs[c]?.name}/${phase.specs[c]?.nodes[n]}`),
  );
  counts.failed = counts.failed.filter((node) => !downAddresses.has(node));
  const result = {
    phase,
    fromSpread: predictedFromSpread(phase.specs, phase.down),
    counts,
    fillLoads,
    seconds,
  };
  console.error(
    `${phase.name}: ${counts.loads} loads of ${KEYS} (${fraction(counts.loads / KEYS)}), ` +
      `fill loaded ${fillLoads}, ${seconds.toFixed(1)} s`,
  );
  return result;
}

function fraction(x: number): string {
  return x.toFixed(4);
}

function nodeName(specs: readonly MemcachedClusterSpec[], c: number, n: number): string {
  return `${specs[c]?.name ?? `c${c + 1}`} node${n}`;
}

function table(results: readonly PhaseResult[]): string {
  return [
    '| phase | nodes down | predicted loaded fraction | predicted from actual spread | measured loaded fraction | hit rate | first-cluster hit rate | heals | s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => {
      const { counts, phase } = r;
      const down =
        phase.down.length === 0
          ? 'none'
          : phase.down.map(([c, n]) => nodeName(phase.specs, c, n)).join(' + ');
      // Every read asks one cluster, and a second one unless the first hit.
      const firstHits = 2 * KEYS - counts.reads;
      return [
        '',
        phase.name,
        down,
        `${phase.predicted.text} = ${fraction(phase.predicted.value)}`,
        fraction(r.fromSpread),
        `${fraction(counts.loads / KEYS)} (${counts.loads}/${KEYS})`,
        fraction((KEYS - counts.loads) / KEYS),
        fraction(firstHits / KEYS),
        String(counts.heals),
        r.seconds.toFixed(1),
        '',
      ]
        .join(' | ')
        .trim();
    }),
  ].join('\n');
}

function spreadLine(title: string, specs: readonly MemcachedClusterSpec[]): string {
  const perCluster = spread(specs).map(
    (perNode, c) =>
      `${specs[c]?.name}: ${perNode.map((count, n) => `node${n} ${count} (${fraction(count / KEYS)})`).join(', ')}`,
  );
  return `- ${title}: ${perCluster.join('; ')}`;
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const processes: EngineProcess[][] = [];
  try {
    for (let c = 0; c < CLUSTERS; c++) {
      const nodes = await Promise.all(Array.from({ length: NODES[c] ?? 0 }, () => launchMemcached()));
      engines.push(...nodes);
      processes.push(nodes);
    }
    const salted: MemcachedClusterSpec[] = processes.map((nodes, c) => ({
      name: `c${c + 1}`,
      zone: ZONE,
      nodes: nodes.map((e) => `127.0.0.1:${e.port}`),
    }));
    const sameSalt = salted.map((spec) => ({ ...spec, salt: 'same' }));
    const [M, N] = [NODES[0] ?? 0, NODES[1] ?? 0];
    const pairs = (CLUSTERS * (CLUSTERS - 1)) / 2;
    // With more than two clusters a read tries two of them: both must be c1 and c2 to lose a key.
    const ofPair = (text: string, value: number) =>
      pairs === 1 ? { text, value } : { text: `1/${pairs} × ${text}`, value: value / pairs };
    const phases: PhaseSpec[] = [
      { name: 'a. healthy', specs: salted, down: [], predicted: { text: '0', value: 0 } },
      { name: 'b. one node down', specs: salted, down: [[0, 0]], predicted: { text: '0', value: 0 } },
      {
        name: 'c. one down in each, different indexes',
        specs: salted,
        down: [
          [0, 0],
          [1, 1],
        ],
        predicted: ofPair(`1/(${M}·${N})`, 1 / (M * N)),
      },
      {
        name: 'd. same index in both, salted by cluster name',
        specs: salted,
        down: [
          [0, 0],
          [1, 0],
        ],
        predicted: ofPair(`1/(${M}·${N})`, 1 / (M * N)),
      },
      {
        name: 'e. same index in both, same salt',
        specs: sameSalt,
        down: [
          [0, 0],
          [1, 0],
        ],
        // Same ring points per node name: node0 of the larger ring holds a subset of node0's keys
        // in the smaller one, so the loss is node0's share of the larger ring.
        predicted: ofPair(`1/${Math.max(M, N)}`, 1 / Math.max(M, N)),
      },
    ];
    const results: PhaseResult[] = [];
    for (const phase of phases) results.push(await runPhase(phase, processes));

    const nodesText = NODE_ARG.length === 1 ? String(NODE_ARG[0]) : NODE_ARG.join(',');
    const command = `npm run bench:cache -- --clusters ${CLUSTERS} --nodes ${nodesText} --keys ${KEYS} --concurrency ${CONCURRENCY}`;
    const memcached = execFileSync('/usr/bin/memcached', ['-V'], { encoding: 'utf8' }).trim();
    const machine = `${execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), Node.js ${process.version}, ${memcached}`;
    const unexpected = results.filter((r) => r.counts.failed.length > 0);
    console.log(`# Memcached peer-cluster availability

\`${command}\` on ${new Date().toISOString()}.

- machine: ${machine}
- ${CLUSTERS} clusters in zone ${ZONE} (${salted.map((s, c) => `${s.name}: ${NODES[c]} nodes`).join(', ')}), ${KEYS} keys, ${CONCURRENCY} reads in flight, timeout 200 ms
${spreadLine('keys per node, salted by cluster name (phases a–d)', salted)}
${spreadLine('keys per node, same salt (phase e)', sameSalt)}

Every phase starts with every key in every cluster, kills its nodes (SIGKILL), then reads every
key once through a fresh PeerClusterCache. Loaded fraction: loader (database) calls / keys. Hit
rate: reads answered from a cluster / reads. First-cluster hit rate: reads answered by the first
cluster tried. Heals: values copied back to a cluster that missed (a node that is down answers
"unavailable", which is not healed).

${table(results)}
${
  unexpected.length === 0
    ? ''
    : `\nNodes that were not killed but failed a call (timeouts on a busy machine; they were then skipped):\n${unexpected
        .map((r) => `- ${r.phase.name}: ${[...new Set(r.counts.failed)].join(', ')}`)
        .join('\n')}\n`
}
Total ${((performance.now() - wallStart) / 1000).toFixed(1)} s.`);
  } finally {
    await stopAll();
  }
}

try {
  await main();
} catch (err) {
  // After SIGINT the phase in progress fails as its nodes go; the handler exits once they are stopped.
  if (!interrupted) throw err;
}
