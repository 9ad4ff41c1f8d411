/**
 * `npm run chaos`: a fault suite against a whole `roomcast cluster` (2 gateways, 2 API nodes,
 * 2 workers, a settler, OngoingQuery, on private engines). A steady workload runs all along —
 * WebSocket viewers that reconnect through dispatch and resume from their cursor, ~30 comments/s
 * over HTTP with Idempotency-Keys retried with the same key, state changes, peer signals, gifts —
 * while faults are injected one at a time (kill -9 of each role and engine process, a cut of the
 * rooms change feed, an admin drain of a gateway), each followed by a bounded wait for recovery,
 * then random faults for a while. At the end it reads every room's history, inboxes, settlements
 * and balances and reports, per fault, acknowledged events lost, stored twice, delivered twice or
 * out of order, recovery times, failed attempts by status, restarts nobody asked for, the money
 * checks, and whether OngoingQuery's live rooms are the shards'. Not part of `npm test`. *
 *   npm run chaos [-- --faults kill-api,kill-nats --random-seconds 60 --seed 1 --write-docs]
 *   options: --recovery-seconds 45 --viewers 40 --rate 30
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClusterChild } from './chaos/cluster.ts';
import { FAULTS, type FaultName, HA_FAULTS, inject, isFault, SINGLE_PROXY_FAULTS } from './chaos/faults.ts';
import {
  balanceOf,
  commentFindings,
  endAndSettle,
  moneyChecks,
  ongoingMatchesShards,
  readHistory,
  readInbox,
  type StoredEvent,
  stateDivergence,
} from './chaos/final-checks.ts';
import { http, isRecord, retryable, seededRandom, sleep, tokenMinter } from './chaos/http.ts';
import { type Check, checksList, type FaultRow, faultTable, writeDocsSection } from './chaos/report.ts';
import { Viewer } from './chaos/viewer.ts';
import { newWindow, type WindowStats, Workload } from './chaos/workload.ts';

const { values } = parseArgs({
  options: {
    faults: { type: 'string' },
    'random-seconds': { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    'recovery-seconds': { type: 'string', default: '45' },
    viewers: { type: 'string', default: '40' },
    rate: { type: 'string', default: '30' },
    'write-docs': { type: 'boolean', default: false },
    replicas: { type: 'string', default: '0' },
  },
});
const REPLICAS = Number(values.replicas);
if (!Number.isInteger(REPLICAS) || REPLICAS < 0 || REPLICAS > 3) {
  console.error('chaos: --replicas must be 0 to 3');
  process.exit(2);
}
// The layout decides which faults exist: the HA collections have no lone nutcracker, and so on.
const layoutFaults = FAULTS.filter((f) =>
  REPLICAS > 0 ? !SINGLE_PROXY_FAULTS.includes(f) : !HA_FAULTS.includes(f),
);
const faults = (values.faults?.split(',').map((f) => f.trim()) ?? [...layoutFaults]).filter((f) => f !== '');
const unknown = faults.filter((f) => !isFault(f));
if (unknown.length > 0) {
  console.error(`chaos: unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  process.exit(2);
}
const RANDOM_MS = Number(values['random-seconds']) * 1000;
const SEED = Number(values.seed);
const RECOVERY_MS = Number(values['recovery-seconds']) * 1000;
const VIEWERS = Number(values.viewers);
const RATE = Number(values.rate);
const random = seededRandom(SEED);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const runDir = mkdtempSync(join(tmpdir(), 'roomcast-chaos-'));
const started = Date.now();
const log = (line: string) => console.error(`chaos +${((Date.now() - started) / 1000).toFixed(1)}s: ${line}`);

/** Retries `task` until it answers 2xx (bounded): the setup steps. */
async function setup(what: string, task: () => ReturnType<typeof http>): Promise<unknown> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const result = await task();
    if (result.status >= 200 && result.status < 300) return result.body;
    if (!retryable(result)) throw new Error(`${what} → ${result.status} ${result.text.slice(0, 300)}`);
    await sleep(500);
  }
  throw new Error(`${what}: no answer`);
}

const secret = randomBytes(24).toString('hex');
const env: NodeJS.ProcessEnv = {};
for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ROOMCAST_')) env[name] = value;
Object.assign(env, {
  ROOMCAST_JWT_SECRET: secret,
  ROOMCAST_LOG_LEVEL: 'warn',
  // One publisher posts ~15 comments/s per room; the whole run's comments stay in the history.
  ROOMCAST_LIMITS_USER_EVENTS_PER_SECOND: '1000',
  ROOMCAST_HISTORY_CAPACITY: '100000',
});
const clusterArgs = [
  '--gateways',
  '2',
  '--apis',
  '2',
  '--workers',
  '2',
  '--postgres',
  'private',
  '--base-port',
  '0',
  ...(REPLICAS > 0 ? ['--replicas', String(REPLICAS)] : []),
];
log(`starting roomcast cluster ${clusterArgs.join(' ')} (logs in ${runDir})`);
const cluster = await ClusterChild.start({
  repoRoot,
  args: clusterArgs,
  env,
  logPath: join(runDir, 'cluster.log'),
  readyTimeoutMs: 180_000,
});
log(`cluster ready: ${[...cluster.pids()].map(([n, p]) => `${n}=${p}`).join(' ')}`);

const windows: { label: string; at: number; stats: WindowStats }[] = [
  { label: 'baseline', at: Date.now(), stats: newWindow() },
];
let current = 0;
let running = true;
const apis = () => cluster.latest.apis;
let rr = 0;
const anyApi = () => apis()[rr++ % apis().length] as string;
const mint = tokenMinter(secret);
const admin = await mint('us_cadmin', ['admin']);
const service = await mint('us_csvc', ['service']);
const publisher = await mint('us_cpub');
const hostUsers = ['us_chost1', 'eu_chost2'];
const hosts = await Promise.all(hostUsers.map((u) => mint(u)));
const rooms: string[] = [];
for (const [i, host] of hosts.entries()) {
  const body = await setup('create room', () =>
    http('POST', `${anyApi()}/v1/rooms`, { token: host, body: { title: `chaos room ${i + 1}` } }),
  );
  rooms.push(String(isRecord(body) && isRecord(body.room) ? body.room.id : ''));
}
const regions = ['us', 'eu', 'ap'];
const viewerUsers = await Promise.all(
  Array.from({ length: VIEWERS }, async (_, i) => {
    const user = `${regions[i % 3]}_cv${i}`;
    return { user, token: await mint(user), room: rooms[i % rooms.length] as string };
  }),
);
const credited = new Map<string, number>();
await Promise.all(
  viewerUsers.map(async (v) => {
    await setup('credit', () =>
      http('POST', `${anyApi()}/v1/admin/credit`, {
        token: admin,
        key: `credit-${v.user}`,
        body: { user: v.user, amount: 1000 },
      }),
    );
    credited.set(v.user, 1000);
  }),
);

const delivered = new Map<string, Set<number>>();
const sink = {
  window: () => current,
  comment: (room: string, text: string, seq: number) => {
    const key = `${room}#${text}`;
    const seqs = delivered.get(key) ?? new Set<number>();
    seqs.add(seq);
    delivered.set(key, seqs);
  },
  duplicate: (w: number) => void windows[w]!.stats.duplicates++,
  outOfOrder: (w: number) => void windows[w]!.stats.outOfOrder++,
  reset: (w: number) => void windows[w]!.stats.resets++,
  api: anyApi,
};
const viewers = viewerUsers.map((v) => new Viewer(v.user, v.token, v.room, sink));
for (const viewer of viewers) viewer.start();
for (let i = 0; i < 600 && !viewers.every((v) => v.joined); i++) await sleep(100);
log(`${viewers.filter((v) => v.joined).length}/${viewers.length} viewers joined rooms ${rooms.join(', ')}`);

const workload = new Workload(
  { apis, window: () => current, stats: (w) => windows[w]!.stats, running: () => running },
  {
    rooms,
    publisher,
    hosts,
    service,
    viewers: viewerUsers,
    ratePerSecond: RATE,
    deadlineMs: 30_000,
    random,
  },
);
workload.start();
await sleep(8000);

const pending: Omit<FaultRow, 'lost' | 'storedTwice' | 'ackMismatch' | 'otherCrashes' | 'stats'>[] = [];

async function runFault(fault: FaultName, label: string): Promise<void> {
  windows.push({ label, at: Date.now(), stats: newWindow() });
  current = windows.length - 1;
  const stats = windows[current]!.stats;
  const injected = await inject(fault, cluster, viewers, admin, random);
  const t0 = injected.at;
  log(`${label}: ${injected.target} pid ${injected.pid}${injected.error ? ` — ${injected.error}` : ''}`);
  let restartedAt: number | undefined;
  let recovered = false;
  while (Date.now() - t0 < RECOVERY_MS && cluster.ended() === undefined) {
    await sleep(100);
    const now = Date.now();
    if (
      restartedAt === undefined &&
      ((injected.pid !== undefined && cluster.replaced(injected.target, injected.pid)) ||
        (injected.healed !== undefined && (await injected.healed().catch(() => false))))
    )
      restartedAt = now;
    const restarted = injected.error !== undefined || restartedAt !== undefined;
    const acksFlowing = now - workload.lastAckAt < 1000 && now - (stats.lastFailureAt ?? 0) > 2000;
    if (now - t0 > 3000 && restarted && acksFlowing && viewers.every((v) => v.joined)) {
      recovered = true;
      break;
    }
  }
  const rejoins = viewers.filter((v) => v.lastJoinedAt > t0).map((v) => v.lastJoinedAt - t0);
  pending.push({
    label,
    target: injected.target,
    pid: injected.pid,
    ...(injected.error === undefined ? {} : { error: injected.error }),
    ...(restartedAt === undefined ? {} : { restartedMs: restartedAt - t0 }),
    ...(stats.firstAckAt === undefined ? {} : { firstAckMs: stats.firstAckAt - t0 }),
    ...(stats.lastFailureAt === undefined ? {} : { lastFailureMs: stats.lastFailureAt - t0 }),
    ...(rejoins.length === 0 ? {} : { rejoinedMs: Math.max(...rejoins) }),
    recovered,
    recoveryMs: Date.now() - t0,
    notRejoined: viewers.filter((v) => !v.joined).length,
  });
  log(
    `${label}: ${recovered ? 'recovered' : 'NOT recovered'} after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  // A short quiet spell, still counted to this fault, before the next one.
  await sleep(2000);
}

for (const fault of faults as FaultName[]) {
  if (cluster.ended() !== undefined) break;
  await runFault(fault, fault);
}
const randomUntil = Date.now() + RANDOM_MS;
for (let k = 1; k <= 100 && Date.now() < randomUntil && cluster.ended() === undefined; k++) {
  const fault = faults[Math.floor(random() * faults.length)] as FaultName;
  await runFault(fault, `random ${k}: ${fault}`);
}

log('stopping the workload');
running = false;
await workload.stop();
// Gifts never answered: resend with the same key (a replay if the money moved, else the gift now).
const tokenOf = new Map(viewerUsers.map((v) => [v.user, v.token]));
for (const gift of workload.gifts.filter((g) => g.acked === undefined && g.refused === undefined))
  await workload.sendGift(gift, tokenOf.get(gift.sender) as string);
for (let i = 0; i < 100 && !viewers.every((v) => v.joined); i++) await sleep(100);
await sleep(5000);
const joinedAtEnd = viewers.filter((v) => v.joined).length;

const histories = new Map<string, StoredEvent[]>();
const historyNotes: string[] = [];
const serverVersions = new Map<string, number>();
for (const [i, room] of rooms.entries()) {
  const history = await readHistory(anyApi(), room, admin);
  histories.set(room, history.events);
  historyNotes.push(
    `${room}: ${history.events.length} events${history.complete ? '' : ' (INCOMPLETE read)'}`,
  );
  const state = await http('GET', `${anyApi()}/v1/rooms/${room}/state/version`, {
    token: hosts[i] as string,
  });
  const partials = isRecord(state.body) && isRecord(state.body.partials) ? state.body.partials : {};
  serverVersions.set(room, Number(partials.title ?? 0));
}
const diverged = stateDivergence(viewers, serverVersions);
await Promise.all(viewers.map((v) => v.stop()));

const inboxes = new Map<string, Set<string> | undefined>();
for (const targets of workload.peersSent.values())
  for (const user of targets) if (!inboxes.has(user)) inboxes.set(user, undefined);
for (const user of inboxes.keys()) inboxes.set(user, await readInbox(anyApi(), tokenOf.get(user) as string));
let peerMissing = 0;
let peerLiveMissed = 0;
for (const [id, targets] of workload.peersSent) {
  for (const user of targets) {
    if (!inboxes.get(user)?.has(id)) peerMissing++;
    if (!viewers.find((v) => v.user === user)?.peers.has(id)) peerLiveMissed++;
  }
}

// OngoingQuery converged on the shards, after every feed cut and OngoingQuery kill; the ended
// rooms are checked again after they ended. Its rescan (60 s) bounds the wait.
const ongoingRole = cluster.latest.roles.find((r) => r.role === 'ongoing');
const ongoingUrl = `http://127.0.0.1:${ongoingRole?.port}`;
const ongoingBefore = await ongoingMatchesShards(anyApi(), ongoingUrl, admin, 75_000);
log(`OngoingQuery vs the shards: ${ongoingBefore.detail} after ${ongoingBefore.seconds.toFixed(1)} s`);
const settlements = new Map<string, { status: string; total: number; host: string }>();
for (const [i, room] of rooms.entries()) {
  const result = await endAndSettle(anyApi(), room, hosts[i] as string, 90_000);
  settlements.set(room, { status: result.status, total: result.total, host: hostUsers[i] as string });
  log(`${room}: ${result.status} total ${result.total} after ${result.seconds.toFixed(1)} s`);
}
const ongoingAfter = await ongoingMatchesShards(anyApi(), ongoingUrl, admin, 75_000);
log(`OngoingQuery vs the shards after the ends: ${ongoingAfter.detail}`);
const balances = new Map<string, number | undefined>();
for (const v of viewerUsers) balances.set(v.user, await balanceOf(anyApi(), v.token));
for (const [i, host] of hosts.entries())
  balances.set(hostUsers[i] as string, await balanceOf(anyApi(), host));
const giftEvents = new Map<string, number>();
for (const events of histories.values())
  for (const e of events)
    if (e.type === 'gift')
      giftEvents.set(String(e.data.transfer), (giftEvents.get(String(e.data.transfer)) ?? 0) + 1);

const clusterEndedEarly = cluster.ended();
const finalMachine = cluster.latest;
if (cluster.logDir !== undefined) cpSync(cluster.logDir, join(runDir, 'role-logs'), { recursive: true });
log('stopping the cluster');
const clusterExit = await cluster.stop();

// Per fault: the comment findings of the publishes first attempted in its window.
const findings = commentFindings(workload.acks, delivered, histories);
const windowOfText = new Map(workload.acks.map((a) => [`${a.room}#${a.text}`, a.window]));
const countIn = (w: number, keys: Iterable<string>) =>
  [...keys].filter((k) => windowOfText.get(k) === w).length;
const rowOf = (w: number, base: (typeof pending)[number] | undefined): FaultRow => {
  const win = windows[w]!;
  const until = windows[w + 1]?.at ?? Number.POSITIVE_INFINITY;
  return {
    ...(base ?? {
      label: win.label,
      target: '—',
      pid: undefined,
      recovered: true,
      recoveryMs: 0,
      notRejoined: 0,
    }),
    stats: win.stats,
    lost: findings.lost.filter((a) => a.window === w).length,
    storedTwice: countIn(w, findings.storedTwice.keys()),
    ackMismatch: findings.mismatched.filter((a) => a.window === w).length,
    otherCrashes: cluster.changes
      .filter((c) => !c.expected && c.at >= win.at && c.at < until)
      .map((c) => `${c.name} ${c.from}→${c.to}`),
  };
};
const rows = windows.map((_, w) => rowOf(w, w === 0 ? undefined : pending[w - 1]));
const total = newWindow();
for (const row of rows) {
  for (const k of ['attempts', 'published', 'acked', 'gaveUp', 'duplicates', 'outOfOrder', 'resets'] as const)
    total[k] += row.stats[k];
  for (const [k, n] of row.stats.failures) total.failures.set(k, (total.failures.get(k) ?? 0) + n);
}
const sum = (f: (r: FaultRow) => number) => rows.reduce((a, r) => a + f(r), 0);
const totalsRow: FaultRow = {
  label: '**total**',
  target: '—',
  pid: undefined,
  recovered: rows.every((r) => r.recovered),
  recoveryMs: 0,
  notRejoined: sum((r) => r.notRejoined),
  stats: total,
  lost: findings.lost.length,
  storedTwice: findings.storedTwice.size,
  ackMismatch: findings.mismatched.length,
  otherCrashes: rows.flatMap((r) => r.otherCrashes),
};
const fiveHundreds = [...total.failures].filter(([k]) => /(^| )500$/.test(k)).reduce((a, [, n]) => a + n, 0);
const checks: Check[] = [
  {
    name: 'acknowledged comments lost',
    ok: findings.lost.length === 0,
    detail: `${findings.lost.length} of ${workload.acks.length}${
      findings.lost.length
        ? ` (e.g. ${findings.lost
            .slice(0, 5)
            .map((a) => `${a.text}@${a.seq}`)
            .join(', ')})`
        : ''
    }`,
  },
  {
    name: 'comments stored twice (one text under two seqs)',
    ok: findings.storedTwice.size === 0,
    detail: `${findings.storedTwice.size}${
      findings.storedTwice.size
        ? ` (e.g. ${[...findings.storedTwice]
            .slice(0, 3)
            .map(([k, s]) => `${k} at ${s.join('/')}`)
            .join('; ')})`
        : ''
    }`,
  },
  {
    name: 'acks whose seq holds another comment',
    ok: findings.mismatched.length === 0,
    detail: String(findings.mismatched.length),
  },
  {
    name: 'deliveries of one seq twice to a viewer',
    ok: total.duplicates === 0,
    detail: String(total.duplicates),
  },
  {
    name: 'seqs out of order within a connection',
    ok: total.outOfOrder === 0,
    detail: String(total.outOfOrder),
  },
  {
    name: '500 answers (a 500 is a defect; 503 is the contract for a store down)',
    ok: fiveHundreds === 0,
    detail: `${fiveHundreds}${rows
      .flatMap((r) => r.stats.samples)
      .slice(0, 2)
      .map((t) => ` — ${t}`)
      .join('')}`,
  },
  {
    name: "OngoingQuery's live rooms are the shards' live rooms (before and after the rooms ended)",
    ok: ongoingBefore.ok && ongoingAfter.ok,
    detail: `before: ${ongoingBefore.detail}; after: ${ongoingAfter.detail}`,
  },
  {
    name: 'every fault recovered within the deadline',
    ok: rows.every((r) => r.recovered),
    detail:
      rows
        .filter((r) => !r.recovered)
        .map((r) => r.label)
        .join(', ') || 'all',
  },
  {
    name: 'viewers joined at the end',
    ok: joinedAtEnd === viewers.length,
    detail: `${joinedAtEnd}/${viewers.length}`,
  },
  {
    name: 'viewers whose state (partial `title`) differs from the server’s',
    ok: diverged.length === 0,
    detail: diverged.length === 0 ? '0' : diverged.slice(0, 5).join(', '),
  },
  {
    name: 'acknowledged peer signals missing from their targets’ inboxes',
    ok: peerMissing === 0,
    detail: `${peerMissing} of ${[...workload.peersSent.values()].reduce((a, t) => a + t.length, 0)} (not received live, at most once by design: ${peerLiveMissed})`,
  },
  ...moneyChecks({ credited, gifts: workload.gifts, balances, settlements, giftEvents }),
  {
    name: 'no process restarted that the suite did not kill',
    ok: totalsRow.otherCrashes.length === 0,
    detail: totalsRow.otherCrashes.join(', ') || 'none',
  },
  {
    name: 'the cluster command kept running until stopped',
    ok: clusterEndedEarly === undefined,
    detail:
      clusterEndedEarly === undefined
        ? `stopped: ${clusterExit}`
        : `it exited by itself: ${clusterEndedEarly}`,
  },
];

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
const command = `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim();
const supervisorLines = cluster.supervisorLines.map(
  (l) => `    +${((l.at - started) / 1000).toFixed(1)}s ${l.text}`,
);
const markdown = [
  `### Chaos run of ${new Date().toISOString().slice(0, 10)}`,
  '',
  `- command: \`${command}\` (seed ${SEED}, random faults for ${RANDOM_MS / 1000} s, recovery deadline ${RECOVERY_MS / 1000} s)`,
  `- machine: \`nproc\` = ${nproc}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node.js ${process.version}`,
  `- cluster: \`roomcast cluster ${clusterArgs.join(' ')}\` (Redis append-only, everysec${REPLICAS > 0 ? `; each collections shard a master and ${REPLICAS} replica(s) under three Sentinels, behind the shard proxy's two nutcrackers` : ''}); ${minutes} min in all`,
  `- workload: ${VIEWERS} WebSocket viewers in ${rooms.length} rooms, ${RATE} comments/s over HTTP (Idempotency-Key, retried with the same key for up to 30 s), a state change every 2 s, a peer signal every 1 s, a gift every 0.7 s`,
  `- history at the end: ${historyNotes.join('; ')}`,
  '',
  'Times are from the fault. "restarted after": the new PID in the cluster\'s machine line. "first ack after": the first acknowledged comment after the fault. "last failed publish": the last failed comment attempt of the fault\'s window (how long publishes were disturbed). Failed attempts are every attempt that was not answered 2xx (comments, gifts, state, peers; "refused N", "gift N", "state N", "peer N" are 4xx answers); each was retried. Lost and stored twice are counted for the comments first sent in the fault\'s window.',
  '',
  faultTable([...rows, totalsRow]),
  '',
  '#### Checks',
  '',
  checksList(checks),
  '',
  '#### Sample errors',
  '',
  [...new Set(rows.flatMap((r) => [...r.stats.samples, ...r.stats.networkSamples]))]
    .slice(0, 8)
    .map((t) => `- \`${t.replace(/`/g, "'").replace(/\s+/g, ' ')}\``)
    .join('\n') || '- none',
  '',
  '#### What the supervisor said',
  '',
  supervisorLines.length === 0 ? '    (nothing)' : supervisorLines.join('\n'),
  '',
].join('\n');
console.log(markdown);
if (values['write-docs']) {
  // The HA layout's run has a section of its own.
  writeDocsSection(join(repoRoot, 'docs/reliability.md'), markdown, REPLICAS > 0 ? 'chaos-ha' : 'chaos');
  log('wrote docs/reliability.md');
}
log(
  `cluster log: ${join(runDir, 'cluster.log')}; final processes ${finalMachine.roles.map((r) => `${r.name}=${r.pid}`).join(' ')}`,
);
process.exit(checks.every((c) => c.ok) ? 0 : 1);
