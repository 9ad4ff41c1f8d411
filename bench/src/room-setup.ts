/** Prepares a server for the benchmark: dev tokens, the room, and each worker's share of connections. */
import type { Agent } from 'node:http';
import { requestJson } from './http-json.ts';
import type { Options } from './options.ts';
import type { RunningServer } from './servers.ts';
import type { ConnectCommand } from './worker-protocol.ts';

/** Connections per source address (the ephemeral port range holds ~28k). */
export const CONNECTIONS_PER_ADDRESS = 20_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `POST /v1/dev/tokens` → token. */
export async function mintToken(
  agent: Agent,
  baseUrl: string,
  user: string,
  roles: string[],
): Promise<string> {
  const response = await requestJson(agent, 'POST', `${baseUrl}/v1/dev/tokens`, { user, roles });
  const token = isRecord(response.body) ? response.body.token : undefined;
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`POST /v1/dev/tokens → ${response.status} ${response.text.slice(0, 300)}`);
  }
  if (typeof token !== 'string')
    throw new Error(`POST /v1/dev/tokens: no token in ${response.text.slice(0, 300)}`);
  return token;
}

/** Mints tokens for users us_bv0 … us_bv<count−1>, 16 requests at a time. */
export async function mintViewerTokens(agent: Agent, baseUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = new Array<string>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      tokens[index] = await mintToken(agent, baseUrl, `us_bv${index}`, []);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return tokens;
}

/** `POST /v1/rooms` → room ID. */
export async function createRoom(agent: Agent, baseUrl: string, token: string): Promise<string> {
  const response = await requestJson(
    agent,
    'POST',
    `${baseUrl}/v1/rooms`,
    { title: 'bench:fanout', visibility: 'public' },
    token,
  );
  const room = isRecord(response.body) && isRecord(response.body.room) ? response.body.room.id : undefined;
  if (response.status !== 201 || typeof room !== 'string') {
    throw new Error(`POST /v1/rooms → ${response.status} ${response.text.slice(0, 300)}`);
  }
  return room;
}

/** Splits the connections over the workers: tokens round-robin over users, source addresses round-robin. */
export function connectCommands(
  options: Options,
  server: RunningServer,
  room: string,
  tokens: string[],
): ConnectCommand[] {
  const addressCount = Math.ceil(options.clients / CONNECTIONS_PER_ADDRESS);
  const commands: ConnectCommand[] = [];
  for (let w = 0; w < options.workers; w++) {
    commands.push({
      type: 'connect',
      wsUrl: server.wsUrl,
      subprotocol: 'roomcast.v1.json',
      room,
      tokens: [],
      localAddresses: [],
      batchSize: Math.max(1, Math.ceil(options.batchSize / options.workers)),
      batchPauseMs: options.batchPauseMs,
      joinTimeoutMs: 30_000,
    });
  }
  for (let i = 0; i < options.clients; i++) {
    const command = commands[i % options.workers];
    const token = tokens[i % tokens.length];
    if (command === undefined || token === undefined) continue;
    command.tokens.push(token);
    command.localAddresses.push(`127.0.0.${1 + (i % addressCount)}`);
  }
  return commands;
}
