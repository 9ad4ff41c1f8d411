import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_DATABASES, postgresSettings } from '../../server/src/local-cluster/cluster-engines.ts';
import type { EngineProcess } from '../../server/test/helpers/engine-process.ts';
import { hs256Token } from '../../server/test/helpers/hs256-token.ts';
import { launchNats } from '../../server/test/helpers/nats-launcher.ts';
import { type LaunchedPostgres, launchPostgres } from '../../server/test/helpers/postgres-launcher.ts';
import { type ShardedRedis, startShardedRedis } from '../../server/test/helpers/redis-launcher.ts';
import { type RoomcastProcess, spawnRoomcast } from '../../server/test/helpers/roomcast-process.ts';
import { ensureWebBuild } from '../tools/build-web.ts';
import {
  BROWSER_SETUP_TIMEOUT_MS,
  BROWSER_TEST_TIMEOUT_MS,
  connection,
  DESKTOP,
  feedTexts,
  launchChromium,
  openUser,
  POLL,
  sendComment,
  type UserPage,
} from './helpers/browser.ts';

const SECRET = 'web-cluster-secret-0123456789abcdef';

/**
 * The web app served by a cluster API node, which serves no WebSocket: the page asks dispatch
 * which gateway serves its room and connects there (push, not the pull fallback). One API node,
 * two gateways in their own groups, on private PostgreSQL, Redis behind nutcracker and NATS.
 */
describe('web app on a cluster API node', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let postgres: LaunchedPostgres | undefined;
  let redis: ShardedRedis | undefined;
  let nats: EngineProcess | undefined;
  const roles: RoomcastProcess[] = [];
  let browser: Browser | undefined;
  const users: UserPage[] = [];
  let api = '';

  beforeAll(async () => {
    await ensureWebBuild({ quiet: true });
    [postgres, redis, nats, browser] = await Promise.all([
      launchPostgres({ databases: CLUSTER_DATABASES }),
      startShardedRedis(2),
      launchNats(),
      launchChromium(),
    ]);
    const pg = postgres;
    const settings = {
      ROOMCAST_JWT_SECRET: SECRET,
      ...postgresSettings((database) => pg.dsn(database)),
      ROOMCAST_COLLECTIONS_ENGINE: 'redis',
      ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${redis.proxy.port}`,
      ROOMCAST_BUS_ENGINE: 'nats',
      ROOMCAST_BUS_URL: `nats://127.0.0.1:${nats.port}`,
      ROOMCAST_GATEWAY_PRESENCE_INTERVAL_MS: '500',
    };
    const first = await spawnRoomcast('api', settings);
    roles.push(first);
    await first.ready(30_000);
    const gateways = await Promise.all(
      ['a', 'b'].map((group) =>
        spawnRoomcast('gateway', {
          ...settings,
          ROOMCAST_GATEWAY_ID: `gw-${group}`,
          ROOMCAST_GATEWAY_GROUP: group,
        }),
      ),
    );
    roles.push(...gateways);
    await Promise.all(gateways.map((g) => g.ready(30_000)));
    api = first.url;
  }, BROWSER_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const user of users) await user.context.close().catch(() => undefined);
    await browser?.close();
    await Promise.all(roles.map((r) => r.stop()));
    await Promise.all([postgres?.stop(), redis?.stop(), nats?.stop()]);
  }, 30_000);

  async function signedIn(user: string): Promise<UserPage> {
    const page = await openUser(browser as Browser, { viewport: DESKTOP });
    users.push(page);
    await page.page.goto(`${api}/`);
    // No dev sign-in on a cluster: the first try says so and opens the paste-a-token form.
    await page.page.getByTestId('sign-in-name').fill(user);
    await page.page.getByTestId('dev-sign-in').locator('button[type=submit]').click();
    await expect
      .poll(() => page.page.getByTestId('sign-in-error').textContent(), POLL)
      .toContain('paste a token');
    await page.page.getByTestId('sign-in-token').fill(await hs256Token(SECRET, user));
    await page.page.getByTestId('sign-in-token').locator('xpath=..').locator('button[type=submit]').click();
    await page.page.getByTestId('sign-in').waitFor({ state: 'detached' });
    return page;
  }

  it('connects host and viewer over WebSocket through dispatch, and comments reach both', async () => {
    const host = await signedIn('eu_maya');
    await host.page.getByTestId('new-room-title').fill('Cluster live');
    await host.page.getByTestId('start-room').click();
    await host.page.waitForURL(/\/rooms\//);
    const link = host.page.url();
    const viewer = await signedIn('us_leo');
    await viewer.page.goto(link);
    for (const user of [host, viewer]) await expect.poll(() => connection(user.page), POLL).toBe('live/ws');
    await sendComment(host.page, 'Hello from the cluster');
    await expect.poll(() => feedTexts(viewer.page), POLL).toContain('Hello from the cluster');
    await sendComment(viewer.page, 'Hi from a gateway');
    await expect.poll(() => feedTexts(host.page), POLL).toContain('Hi from a gateway');
    for (const user of [host, viewer]) expect(user.errors).toEqual([]);
  });
});
