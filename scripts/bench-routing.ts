/**
 * Routing-by-room benchmark: what nginx's `hash <room> consistent` (`roomcast nginx-config`) does
 * for the API nodes' own room caches. A `roomcast cluster --apis 3 --nginx` is started once per
 * phase (fresh caches); the same publish load — events at a steady rate to rooms picked at random —
 * goes either round robin over the API nodes directly, or through nginx. Each API node's
 * `roomcast_room_cache_reads_total{result}` is read before and after: with routing, a room is
 * cached on one node instead of on every node, so its copy lapses (rooms.cacheTtlMs) once per TTL
 * instead of once per node. Also reported: KvCache loads (lookups that reached the databases) and
 * the publishes' own latency.
 *
 *   npm run bench:routing [-- --rooms 1000 --rate 100 --seconds 120 --apis 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { requestJson } from '../bench/src/http-json.ts';
import { type RoomcastCluster, startRoomcastCluster } from '../bench/src/peers/roomcast-cluster.ts';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '120' },
    apis: { type: 'string', default: '3' },
  },
});
const ROOMS = Number(values.rooms);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const APIS = Number(values.apis);
const REPO = resolve(import.meta.dirname, '..');
const log = (line: string) => console.error(`[routing ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Counts {
  hit: number;
  miss: number;
  loads: number;
}

async function countsOf(agent: Agent, cluster: RoomcastCluster): Promise<Counts> {
  const total: Counts = { hit: 0, miss: 0, loads: 0 };
  for (const role of cluster.roles.filter((r) => r.role === 'api')) {
    const { text } = await requestJson(agent, 'GET', `http://127.0.0.1:${role.port}/metrics`);
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    total.hit += value(/^roomcast_room_cache_reads_total\{result="hit"\} (\d+)/m);
    total.miss += value(/^roomcast_room_cache_reads_total\{result="miss"\} (\d+)/m);
    total.loads += value(/^roomcast_kv_cache_loads_total (\d+)/m);
  }
  return total;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

interface PhaseResult {
  mode: string;
  published: number;
  failed: number;
  hit: number;
  miss: number;
  loads: number;
  p50: number;
  p99: number;
}

async function phase(mode: 'round robin' | 'nginx'): Promise<PhaseResult> {
  const logPath = join(mkdtempSync(join(tmpdir(), 'roomcast-bench-routing-')), 'cluster.log');
  const cluster = await startRoomcastCluster({
    repoRoot: REPO,
    logPath,
    gateways: 1,
    apis: APIS,
    extraArgs: ['--nginx'],
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const nginx = cluster.engines.find((e) => e.name === 'nginx');
    if (nginx === undefined) throw new Error('the cluster runs no nginx');
    const apis = cluster.roles.filter((r) => r.role === 'api').map((r) => `http://127.0.0.1:${r.port}`);
    const through = `http://127.0.0.1:${nginx.port}`;
    log(`${mode}: cluster ready (${apis.length} API nodes, nginx ${through}); creating ${ROOMS} rooms`);
    const rooms = await cluster.createRooms(agent, ROOMS);
    const admin = await cluster.token('us_routing', ['admin']);
    const before = await countsOf(agent, cluster);
    const latencies: number[] = [];
    let failed = 0;
    let sent = 0;
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    log(`${mode}: publishing ${RATE}/s for ${SECONDS} s`);
    while (performance.now() - started < SECONDS * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      while (sent < due) {
        const room = rooms[Math.floor(Math.random() * rooms.length)] as string;
        const base = mode === 'nginx' ? through : (apis[sent % apis.length] as string);
        sent += 1;
        const t0 = performance.now();
        const request = requestJson(
          agent,
          'POST',
          `${base}/v1/rooms/${room}/events`,
          { type: 'comment', data: { text: 'routing' } },
          admin,
        )
          .then((response) => {
            if (response.status === 201) latencies.push(performance.now() - t0);
            else failed += 1;
          })
          .catch(() => {
            failed += 1;
          })
          .finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inFlight);
    const after = await countsOf(agent, cluster);
    latencies.sort((a, b) => a - b);
    return {
      mode,
      published: sent,
      failed,
      hit: after.hit - before.hit,
      miss: after.miss - before.miss,
      loads: after.loads - before.loads,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  } finally {
    agent.destroy();
    await cluster.stop();
  }
}

const results = [await phase('round robin'), await phase('nginx')];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const pct = (n: number, d: number) => (d === 0 ? '—' : `${((100 * n) / d).toFixed(1)} %`);
console.log(`# Routing the API by room: the API nodes' own room caches

\`npm run bench:routing -- --rooms ${ROOMS} --rate ${RATE} --seconds ${SECONDS} --apis ${APIS}\` on ${new Date().toISOString()}
(${execFileSync('uname', ['-m']).toString().trim()}, ${cpus().length} × ${cpu}, Node ${process.version}).
A fresh \`roomcast cluster --apis ${APIS} --gateways 1 --nginx\` per phase; ${RATE} comments/s to ${ROOMS} rooms picked at random, for ${SECONDS} s.

| publishes go | published | failed | room lookups | own-copy hits | misses | hit rate | misses/s | KvCache loads | publish p50 ms | p99 ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results
  .map(
    (r) =>
      `| ${r.mode} | ${r.published} | ${r.failed} | ${r.hit + r.miss} | ${r.hit} | ${r.miss} | ${pct(r.hit, r.hit + r.miss)} | ${(r.miss / SECONDS).toFixed(2)} | ${r.loads} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
  )
  .join('\n')}
`);
