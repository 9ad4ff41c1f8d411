import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config.ts';
import { type RunningServer, startDev } from '../../src/roles/dev.ts';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret';

export interface TestServer {
  httpUrl: string;
  wsUrl: string;
  server: RunningServer;
  /** Mints an HS256 token the server accepts. */
  token(
    user: string,
    opts?: { roles?: string[]; rooms?: string[]; expiresInSeconds?: number; name?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts `roomcast dev` in this process on a free loopback port with a temporary data directory.
 * `overrides` are settings by path, e.g. `{ gateway: { batchWindowMs: 5 } }`.
 */
export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'roomcast-test-'));
  const config = loadConfig({
    env: {},
    roleDefaults: { devMode: true },
    overrides: {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      jwt: { secret: TEST_JWT_SECRET },
      log: { level: 'silent', pretty: false },
      ...overrides,
    },
  });
  const server = await startDev(config, pino({ level: config.log.level }));
  const key = new TextEncoder().encode(TEST_JWT_SECRET);
  return {
    httpUrl: server.url,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/v1/ws`,
    server,
    token: (user, opts = {}) => {
      const claims: Record<string, unknown> = { roles: opts.roles ?? [] };
      if (opts.rooms !== undefined) claims.rooms = opts.rooms;
      if (opts.name !== undefined) claims.name = opts.name;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 3600))
        .sign(key);
    },
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
