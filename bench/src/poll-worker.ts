/**
 * A poll worker process: runs HTTP pollers on one room's events endpoint (`GET …/events?cursor=N`,
 * PROTOCOL.md), each on its own keep-alive connection, each polling every `intervalMs` (spread
 * evenly over the interval) from the cursor it last got. For every event of the measured window it
 * records the freshness lag: poll response received − the publisher's send time `data.t`.
 *
 * Started by the pull scenario with child_process.fork; driven by poll-start/poll-stop commands.
 */
import { Agent, request } from 'node:http';
import { nowMicros, sleep } from './clock.ts';
import { createLatencyHistogram, encodeHistogram } from './histogram.ts';
import type { PollStartCommand, WorkerCommand, WorkerReport } from './worker-protocol.ts';

let running = false;
let pollers: Promise<void>[] = [];
let statuses: Record<string, number> = {};
let requests = 0;
let received = 0;
let lag = createLatencyHistogram();
let startedAt = 0;

function send(report: WorkerReport): void {
  process.send?.(report);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** One GET; resolves with status and parsed body (undefined when not JSON). */
function get(agent: Agent, url: string, token: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One poller's loop until `running` turns false. */
async function poll(command: PollStartCommand, agent: Agent, phaseMs: number): Promise<void> {
  let cursor = 0;
  await sleep(phaseMs);
  let next = Date.now();
  while (running) {
    try {
      const { status, body } = await get(agent, `${command.url}?cursor=${cursor}`, command.token);
      const receivedAt = nowMicros();
      requests++;
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      if (status === 200 && isRecord(body) && Array.isArray(body.events)) {
        for (const event of body.events) {
          if (!isRecord(event) || typeof event.seq !== 'number' || event.seq <= cursor) continue;
          const data = event.data;
          if (isRecord(data) && data.m === command.window && typeof data.t === 'number') {
            received++;
            lag.recordValue(Math.max(0, receivedAt - data.t));
          }
        }
        if (typeof body.cursor === 'number') cursor = body.cursor;
      }
    } catch (error) {
      const key = `network error ${(error as Error & { code?: string }).code ?? (error as Error).message}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    next += command.intervalMs;
    await sleep(Math.max(0, next - Date.now()));
  }
}

function start(command: PollStartCommand): void {
  running = true;
  statuses = {};
  requests = 0;
  received = 0;
  lag.destroy();
  lag = createLatencyHistogram();
  startedAt = Date.now();
  const agent = new Agent({ keepAlive: true, maxSockets: command.pollers });
  pollers = Array.from({ length: command.pollers }, (_, i) =>
    poll(command, agent, (i * command.intervalMs) / command.pollers),
  );
  send({ type: 'poll-started' });
}

async function stop(): Promise<void> {
  running = false;
  const seconds = (Date.now() - startedAt) / 1000;
  await Promise.all(pollers);
  send({ type: 'poll', requests, statuses, received, lag: encodeHistogram(lag), seconds });
}

process.on('message', (message: unknown) => {
  if (!isRecord(message)) return;
  const command = message as unknown as WorkerCommand;
  if (command.type === 'poll-start') start(command);
  else if (command.type === 'poll-stop') void stop();
  else if (command.type === 'close') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
