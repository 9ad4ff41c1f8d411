import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/helpers/test-server.ts';
import { ensureWebBuild } from '../../tools/build-web.ts';
import {
  BROWSER_SETUP_TIMEOUT_MS,
  connection,
  DESKTOP,
  feedTexts,
  launchChromium,
  openUser,
  PHONE,
  POLL,
  sendComment,
  signIn,
  type UserPage,
  type WebSocketPolicy,
} from './browser.ts';

/**
 * Where the screenshots go: docs/screenshots (shown by docs/web.md) when ROOMCAST_UPDATE_SCREENSHOTS=1,
 * else a temp folder, so an ordinary test run does not leave the work tree changed.
 */
export const SCREENSHOTS =
  process.env.ROOMCAST_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'roomcast-screenshots/');

/** The people of one test's room, each in their own browser context. */
export interface Cast {
  roomId: string;
  /** The shared link of the room. */
  link: string;
  /** The host, on a desktop. */
  host: UserPage;
  /** Viewer Leo on a desktop, over WebSocket (through a proxy the test can cut). */
  leo: UserPage;
  /** Viewer Kai on a phone whose WebSocket is blocked (HTTP pull), when the test asked for him. */
  kai: UserPage;
  /** User IDs, for selectors such as `data-from`. */
  ids: { host: string; leo: string; kai: string };
}

/**
 * The web app in Debian's Chromium against `roomcast dev` started in this process, for the
 * `describe` it is called in (it registers the hooks). Every test starts
 * its own room with its own people (a host on a desktop, viewer Leo on a desktop over WebSocket,
 * viewer Kai on a phone whose WebSocket is blocked so the app falls back to HTTP pull), so any test
 * runs alone and in any order; only the server and the browser are shared.
 */
export function useLiveRoom() {
  let server: TestServer;
  let browser: Browser;
  let giftsAvailable = false;
  /** What the current test opened and started: closed and ended after it. */
  let opened: UserPage[] = [];
  let rooms: Array<{ id: string; hostId: string }> = [];
  /** Makes every test's users unique: inboxes and "one live room per host" are per user. */
  let castNumber = 0;

  beforeAll(async () => {
    await ensureWebBuild({ quiet: true });
    [server, browser] = await Promise.all([
      startTestServer({
        gateway: { presenceIntervalMs: 300 },
        worker: { onlineIntervalMs: 300 },
        // The flood test publishes hundreds of comments from a few users as fast as it can.
        limits: { userEventsPerSecond: 500, roomEventsPerSecond: 5000 },
      }),
      launchChromium(),
    ]);
    await mkdir(SCREENSHOTS, { recursive: true });
    const catalogue = await fetch(`${server.httpUrl}/v1/gifts`, {
      headers: { authorization: `Bearer ${await server.token('us_probe')}` },
    });
    giftsAvailable = catalogue.status === 200;
    // A server without the gift endpoints answers 404; the gift test checks the bar stays hidden.
    if (!giftsAvailable) expect(catalogue.status).toBe(404);
  }, BROWSER_SETUP_TIMEOUT_MS);

  afterEach(async () => {
    const users = opened;
    const ended = rooms;
    opened = [];
    rooms = [];
    const errors = users.flatMap((user) => user.errors);
    for (const user of users) await user.context.close().catch(() => undefined);
    // Ended, so the live list and the gateway's connections hold only the next test's room.
    for (const room of ended) {
      await fetch(`${server.httpUrl}/v1/rooms/${room.id}/end`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await server.token(room.hostId)}` },
      }).catch(() => undefined);
    }
    expect(errors, 'uncaught errors on the pages').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const live = (page: Page, transport: 'ws' | 'pull') =>
    expect.poll(() => connection(page), POLL).toBe(`live/${transport}`);

  async function user(viewport: { width: number; height: number }, webSocket?: WebSocketPolicy) {
    const opening = await openUser(browser, { viewport, ...(webSocket === undefined ? {} : { webSocket }) });
    opened.push(opening);
    return opening;
  }

  /**
   * Starts a room hosted by Maya and lets Leo (and Kai, unless `kai: false`) in: Leo from the live
   * list or the shared link, Kai from the link. `plain` uses the bare names (for screenshots).
   */
  async function startRoom(
    options: { title?: string; leoFrom?: 'list' | 'link'; kai?: boolean; plain?: boolean } = {},
  ): Promise<Cast> {
    const n = options.plain === true ? '' : String(++castNumber);
    const names = { host: `maya${n}`, leo: `leo${n}`, kai: `kai${n}` };
    const ids = { host: `eu_${names.host}`, leo: `us_${names.leo}`, kai: `ap_${names.kai}` };
    const title = options.title ?? 'Night market live';

    const host = await user(DESKTOP);
    await host.page.goto(`${server.httpUrl}/`);
    await signIn(host.page, 'eu', names.host);
    await host.page.getByTestId('new-room-title').fill(title);
    await host.page.getByTestId('start-room').click();
    await host.page.waitForURL(/\/rooms\//);
    const roomId = decodeURIComponent(new URL(host.page.url()).pathname.split('/')[2] ?? '');
    expect(roomId).toMatch(/^eu_/);
    rooms.push({ id: roomId, hostId: ids.host });
    await live(host.page, 'ws');
    // The page shows the connection live a moment before it learns whose room it is (it starts as
    // a viewer's): wait for the role rather than read it once.
    await expect.poll(() => host.page.getByTestId('room-page').getAttribute('data-role'), POLL).toBe('host');
    const link = await host.page.getByTestId('room-link').inputValue();
    expect(link).toBe(`${server.httpUrl}/rooms/${roomId}`);

    const leo = await user(DESKTOP, 'proxied');
    if (options.leoFrom === 'list') {
      await leo.page.goto(`${server.httpUrl}/`);
      await signIn(leo.page, 'us', names.leo);
      await leo.page.locator(`[data-testid=live-room][data-room="${roomId}"] button`).click();
    } else {
      await leo.page.goto(link);
      await signIn(leo.page, 'us', names.leo);
    }
    await live(leo.page, 'ws');
    expect(await leo.page.getByTestId('room-page').getAttribute('data-role')).toBe('viewer');

    let kai = undefined as unknown as UserPage;
    if (options.kai !== false) {
      // A phone behind a network that blocks WebSocket opens the link it was sent.
      kai = await user(PHONE, 'blocked');
      await kai.page.goto(link);
      await signIn(kai.page, 'ap', names.kai);
      await live(kai.page, 'pull');
    }
    return { roomId, link, host, leo, kai, ids };
  }

  /** The people of a cast that are present. */
  const everyone = (cast: Cast) => [cast.host, cast.leo, ...(cast.kai === undefined ? [] : [cast.kai])];

  /** Leo says something and the host sees it: a line of Leo's in the host's feed (to click on). */
  async function leoSpeaks(cast: Cast, text: string): Promise<void> {
    await sendComment(cast.leo.page, text);
    await expect.poll(() => feedTexts(cast.host.page), POLL).toContain(text);
  }

  return {
    get server(): TestServer {
      return server;
    },
    /** Whether the server has the gift endpoints (a server without them answers 404). */
    get giftsAvailable(): boolean {
      return giftsAvailable;
    },
    /** The number of the last cast, to make other users of a test unique too. */
    get castNumber(): number {
      return castNumber;
    },
    live,
    user,
    startRoom,
    everyone,
    leoSpeaks,
  };
}
