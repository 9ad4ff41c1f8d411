/**
 * pull: `--pollers` HTTP pollers on one public room's events endpoint, each every
 * `--poll-interval-ms`, while the publisher posts `--rates` events/s; first against roomcast
 * directly, then through nginx `proxy_cache` honouring roomcast's own Cache-Control/ETag
 * (peers/nginx-config.ts). Measures poll requests/s, the requests that reached roomcast (direct:
 * all of them; cache: nginx's upstream log), freshness lag (publish → a poller saw it), and CPU.
 *
 * Then through the tier `roomcast nginx-config` renders (API by room, the micro-cache behind an
 * access check per caller and room): its origin requests are the pulls and the access checks in
 * its access log.
 *
 * All pollers use one viewer token: roomcast answers `Vary: Authorization`, so a shared cache can
 * only share a response between requests with the same Authorization header.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineProcess } from '../../../packages/server/src/engines/engine-process.ts';
import { launchNginx } from '../../../packages/server/src/engines/nginx-launcher.ts';
import {
  nginxSnippets,
  renderClusterNginxConfig,
} from '../../../packages/server/src/nginx/cluster-nginx-config.ts';
import { sleep } from '../clock.ts';
import { mergeEncoded, summarize } from '../histogram.ts';
import { log } from '../log.ts';
import { readSystemTrees } from '../measure-window.ts';
import { cacheProxyConfig } from '../peers/nginx-config.ts';
import { makeNginxPrefix, type RunningNginx, startNginx } from '../peers/nginx-process.ts';
import { readProcStats, tryReadProcStats } from '../proc-stats.ts';
import { publishSchedule } from '../publisher.ts';
import type { PullResult } from '../scenario-result.ts';
import { freePort } from '../servers.ts';
import { nginxFileLimit } from '../systems.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { ScenarioContext } from './scenario-context.ts';

const POLL_WORKER = fileURLToPath(new URL('../poll-worker.ts', import.meta.url));
const MiB = 1024 * 1024;
/** After the last publish: max-age 1 s + stale-while-revalidate 1 s + one poll interval, and a margin. */
const DRAIN_MS = 3_000;

/**
 * Requests in nginx's upstream log (`$msec …` per line) between two wall-clock times (ms); with
 * `matches`, only the lines it accepts (the tier's access log has every request).
 */
export function countUpstreamRequests(
  logText: string,
  fromMs: number,
  toMs: number,
  matches: (line: string) => boolean = () => true,
): number {
  let count = 0;
  for (const line of logText.split('\n')) {
    const at = Number.parseFloat(line.split(' ', 1)[0] ?? '') * 1000;
    if (Number.isFinite(at) && at >= fromMs && at <= toMs && matches(line)) count++;
  }
  return count;
}

function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (tryReadProcStats(pid)?.cpuSec ?? 0), 0);
}

/** Runs the pull scenario against roomcast (`ctx.system`), directly and through the cache. */
export async function runPull(ctx: ScenarioContext): Promise<void> {
  const { options, system, agent, run } = ctx;
  if (system.name !== 'roomcast') throw new Error('pull measures roomcast only');
  const [room] = await system.createRooms(agent, 1);
  const [token] = await system.viewerTokens(agent, 1);
  if (room === undefined || token === undefined) throw new Error('no room or token');
  const target = await system.publishTarget(agent);
  const prefix = makeNginxPrefix('cache');
  const port = await freePort();
  const config = cacheProxyConfig({
    prefix,
    port,
    workers: 1,
    workerConnections: options.pollers * 2 + 256,
    fileLimit: nginxFileLimit(),
    origin: system.baseUrl,
    errorLog: `${ctx.logStem}-nginx-error.log`,
  });
  let nginx: RunningNginx | undefined;
  let tier: EngineProcess | undefined;
  const pool = await WorkerPool.start(options.workers, ctx.repoRoot, POLL_WORKER);
  const rate = options.rates[0] ?? 1;
  run.pull = [];
  let window = 0;
  try {
    nginx = await startNginx(prefix, port, config, `${ctx.logStem}-nginx.log`);
    tier = await launchNginx({
      files: nginxSnippets(),
      config: (listen, dir) =>
        renderClusterNginxConfig({
          listen,
          prefix: dir,
          apis: [system.baseUrl.replace(/^https?:\/\//, '')],
          gateways: [],
          workers: 1,
          pullCacheMb: 64,
          accessCacheSeconds: 5,
          ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
        }),
    });
    const tierUrl = `http://127.0.0.1:${tier.port}`;
    for (const mode of ['direct', 'cache', 'nginx tier'] as const) {
      window++;
      const base = mode === 'direct' ? system.baseUrl : mode === 'cache' ? nginx.baseUrl : tierUrl;
      const url = `${base}/v1/rooms/${encodeURIComponent(room)}/events`;
      const share = Math.ceil(options.pollers / options.workers);
      log(`pull ${mode}: ${options.pollers} pollers every ${options.pollIntervalMs} ms, ${rate} events/s`);
      await pool.request(
        { type: 'poll-start', url, token, pollers: share, intervalMs: options.pollIntervalMs, window },
        'poll-started',
        30_000,
      );
      await sleep(Math.max(options.warmupSeconds * 1000, options.pollIntervalMs));
      const originBefore = readSystemTrees(system.pids).cpuSec;
      const cachePid = mode === 'nginx tier' ? (tier.child.pid as number) : nginx.pid;
      const cacheBefore = readSystemTrees([cachePid]).cpuSec;
      const workersBefore = pool.pids.map((pid) => readProcStats(pid).cpuSec);
      const startedMs = Date.now();
      const outcome = await publishSchedule({
        agent,
        target,
        rooms: [{ room, rate }],
        seconds: options.seconds,
        window,
        textChars: options.textChars,
      });
      await sleep(DRAIN_MS);
      const endedMs = Date.now();
      const reports = await pool.request({ type: 'poll-stop' }, 'poll', 120_000);
      const seconds = (endedMs - startedMs) / 1000;
      const originCpu = readSystemTrees(system.pids).cpuSec - originBefore;
      const cacheCpu = readSystemTrees([cachePid]).cpuSec - cacheBefore;
      const workerCpu = pool.pids.map((pid, i) => (cpuOf([pid]) - (workersBefore[i] ?? 0)) / seconds);
      const statuses: Record<string, number> = {};
      for (const report of reports) {
        for (const [status, count] of Object.entries(report.statuses))
          statuses[status] = (statuses[status] ?? 0) + count;
      }
      const requests = reports.reduce((sum, report) => sum + report.requests, 0);
      const pollSeconds = Math.max(...reports.map((report) => report.seconds));
      const tierLog = mode === 'nginx tier' ? readFileSync(join(tier.dir, 'access.log'), 'utf8') : '';
      const reachedOrigin = (uri: string) => (line: string) =>
        line.includes(` ${uri} `) && !line.includes('upstream=- ');
      const originRequests =
        mode === 'direct'
          ? requests
          : mode === 'cache'
            ? countUpstreamRequests(readFileSync(join(prefix, 'upstream.log'), 'utf8'), startedMs, endedMs)
            : countUpstreamRequests(tierLog, startedMs, endedMs, reachedOrigin(new URL(url).pathname));
      const accessChecks =
        mode === 'nginx tier'
          ? countUpstreamRequests(tierLog, startedMs, endedMs, reachedOrigin('/_roomcast/access'))
          : undefined;
      const histogram = mergeEncoded(reports.map((report) => report.lag));
      const result: PullResult = {
        mode,
        pollers: share * options.workers,
        intervalMs: options.pollIntervalMs,
        requestsPerSec: requests / pollSeconds,
        originRequestsPerSec: mode === 'direct' ? requests / pollSeconds : originRequests / seconds,
        statuses,
        published: outcome.ok,
        expected: outcome.ok * share * options.workers,
        received: reports.reduce((sum, report) => sum + report.received, 0),
        freshnessLag: summarize(histogram),
        originCpuPercent: (originCpu / seconds) * 100,
        cacheCpuPercent: (cacheCpu / seconds) * 100,
        pollerCpuPercent: workerCpu.map((share) => share * 100),
        ...(accessChecks === undefined ? {} : { accessChecksPerSec: accessChecks / seconds }),
      };
      histogram.destroy();
      run.pull.push(result);
      log(
        `pull ${mode}: ${Math.round(result.requestsPerSec)} req/s, origin ${result.originRequestsPerSec.toFixed(1)} req/s, ` +
          `lag p50 ${result.freshnessLag.p50Ms} ms p99 ${result.freshnessLag.p99Ms} ms, roomcast CPU ${result.originCpuPercent.toFixed(0)} %`,
      );
    }
    run.vmHwmMiB = readSystemTrees(system.pids).hwmBytes / MiB;
  } finally {
    await pool.close();
    await nginx?.stop();
    await tier?.stop();
  }
}
