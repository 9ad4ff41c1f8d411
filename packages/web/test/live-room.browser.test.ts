import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/test-server.ts';
import { ensureWebBuild } from '../tools/build-web.ts';
import {
  BROWSER_TEST_TIMEOUT_MS,
  connection,
  DESKTOP,
  feedMatch,
  feedSeqs,
  feedTexts,
  launchChromium,
  nextFrames,
  openUser,
  PHONE,
  POLL,
  privateTexts,
  sendComment,
  signIn,
  type UserPage,
  visibleText,
  type WebSocketPolicy,
} from './helpers/browser.ts';

/**
 * Where the screenshots go: docs/screenshots (shown by docs/web.md) when ROOMCAST_UPDATE_SCREENSHOTS=1,
 * else a temp folder, so an ordinary test run does not leave the work tree changed.
 */
const SCREENSHOTS =
  process.env.ROOMCAST_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'roomcast-screenshots/');

/** The people of one test's room, each in their own browser context. */
interface Cast {
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
 * The web app in Debian's Chromium against `roomcast dev` started in this process. Every test starts
 * its own room with its own people (a host on a desktop, viewer Leo on a desktop over WebSocket,
 * viewer Kai on a phone whose WebSocket is blocked so the app falls back to HTTP pull), so any test
 * runs alone and in any order; only the server and the browser are shared.
 */
describe('web app in Chromium', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
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
  });

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
    expect(await host.page.getByTestId('room-page').getAttribute('data-role')).toBe('host');
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

  it('a host starts a room; viewers join from the live list and from the shared link', async () => {
    const cast = await startRoom({ leoFrom: 'list' });
    expect(await cast.kai.page.getByTestId('connection-label').textContent()).toBe(
      'Live · HTTP pull (fallback)',
    );
    for (const person of everyone(cast)) {
      await expect
        .poll(() => person.page.getByTestId('room-title').textContent(), POLL)
        .toBe('Night market live');
    }
    // The online count comes from the worker's `online` events.
    await expect.poll(() => cast.leo.page.getByTestId('online-count').textContent(), POLL).toBe('2');
  });

  it('comments reach everyone in the same order, and fly over the video', async () => {
    const { host, leo, kai } = await startRoom();
    await sendComment(host.page, 'Welcome to the night market!');
    await expect.poll(() => feedTexts(leo.page), POLL).toContain('Welcome to the night market!');
    await sendComment(leo.page, 'Those dumplings look amazing');
    await expect.poll(() => feedTexts(kai.page), POLL).toContain('Those dumplings look amazing');
    await sendComment(kai.page, 'Watching from the bus 🚌');
    const all = ['Welcome to the night market!', 'Those dumplings look amazing', 'Watching from the bus 🚌'];
    for (const person of [host, leo, kai]) await expect.poll(() => feedTexts(person.page), POLL).toEqual(all);
    const seqs = await feedSeqs(host.page);
    expect(await feedSeqs(leo.page)).toEqual(seqs);
    expect(await feedSeqs(kai.page)).toEqual(seqs);
    const danmaku = leo.page.getByTestId('danmaku');
    await expect
      .poll(async () => Number(await danmaku.getAttribute('data-shown')), POLL)
      .toBeGreaterThanOrEqual(3);
  });

  it('the operations dashboard shows the room, its viewers and live traffic', async () => {
    const { roomId, ids } = await startRoom({ kai: false });
    const ops = await user(DESKTOP);
    await ops.page.goto(`${server.httpUrl}/ops?interval=500`);
    await signIn(ops.page, 'eu', 'ops');
    const row = ops.page.locator(`[data-testid=ops-room][data-room="${roomId}"]`);
    await row.waitFor();
    expect(await row.locator('a').textContent()).toBe('Night market live');
    await expect.poll(() => row.getByTestId('ops-room-online').textContent(), POLL).toBe('2');
    // Only this test's host and Leo hold connections (earlier tests' pages were closed).
    await expect.poll(() => ops.page.getByTestId('kpi-connections').textContent(), POLL).toBe('2');
    expect(await ops.page.getByTestId('ops-gateway').count()).toBe(1);
    // A viewer without the admin role is refused at /v1/admin/stats.
    const refused = await fetch(`${server.httpUrl}/v1/admin/stats`, {
      headers: { authorization: `Bearer ${await server.token(ids.leo)}` },
    });
    expect(refused.status).toBe(403);
  });

  it('state changes (title, pinned message, announcement) reach every viewer; only the host can edit', async () => {
    const { host, leo, kai } = await startRoom();
    const edits = [
      ['pinned', 'Be kind. Every gift goes to the stall fund.'],
      ['announcement', 'Raffle at 21:00: stay tuned'],
      ['title', 'Night market: live from stall 12'],
    ] as const;
    for (const [name, value] of edits) {
      await host.page.getByTestId(`console-${name}`).fill(value);
      await host.page.getByTestId(`console-save-${name}`).click();
      await expect.poll(() => host.page.getByTestId('console-status').textContent(), POLL).toBe('Saved.');
    }
    for (const person of [host, leo, kai]) {
      await expect.poll(() => visibleText(person.page, 'pinned'), POLL).toContain(edits[0][1]);
      await expect.poll(() => visibleText(person.page, 'announcement'), POLL).toBe(edits[1][1]);
      await expect.poll(() => person.page.getByTestId('room-title').textContent(), POLL).toBe(edits[2][1]);
    }
    expect(await leo.page.getByTestId('host-console').count()).toBe(0);
    expect(await kai.page.getByTestId('host-console').count()).toBe(0);
  });

  it('a whisper from the host reaches its viewer and nobody else', async () => {
    const cast = await startRoom();
    const { host, leo, kai } = cast;
    await leoSpeaks(cast, 'Those dumplings look amazing');
    await host.page.locator(`[data-testid=comment][data-from="${cast.ids.leo}"] .author`).first().click();
    await host.page.getByTestId('whisper-input').fill('Thanks for coming, Leo!');
    await host.page.getByTestId('whisper-send').click();
    await expect.poll(() => privateTexts(leo.page), POLL).toEqual(['Thanks for coming, Leo!']);
    await expect.poll(() => privateTexts(host.page), POLL).toEqual(['Thanks for coming, Leo!']);
    await host.page.keyboard.press('Escape');
    // Kai pulls its inbox in rounds: two full rounds after the whisper was delivered would have
    // brought it to him.
    for (let round = 0; round < 2; round++) {
      await kai.page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/inbox' && r.ok());
    }
    expect(await privateTexts(kai.page)).toEqual([]);
    expect(await feedTexts(kai.page)).not.toContain('Thanks for coming, Leo!');
  });

  it('gifts: viewers see the catalogue and their balance, and everyone sees the gift', async () => {
    const { host, leo, kai } = await startRoom();
    if (!giftsAvailable) {
      // A server without the gift endpoints: the bar stays hidden and the room works.
      await sendComment(host.page, 'No gifts here');
      await expect.poll(() => feedTexts(leo.page), POLL).toContain('No gifts here');
      expect(await leo.page.getByTestId('gift-bar').count()).toBe(0);
      return;
    }
    const bar = leo.page.getByTestId('gift-bar');
    await bar.waitFor();
    expect(await host.page.getByTestId('gift-bar').count()).toBe(0);
    await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('0');
    await leo.page.getByTestId('top-up').click();
    await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('1,000');
    await leo.page.getByTestId('gift-rose').click();
    await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('999');
    await leo.page.getByTestId('gift-rocket').click();
    await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('499');
    for (const person of [host, leo, kai]) {
      await expect
        .poll(
          () => person.page.$$eval('[data-testid=gift-line] .text', (els) => els.map((e) => e.textContent)),
          POLL,
        )
        .toEqual(['sent Rose 🌹', 'sent Rocket 🚀']);
    }
    // Both gifts were animated on the stage.
    for (const person of [host, kai]) {
      await expect
        .poll(() => person.page.getByTestId('gift-layer').getAttribute('data-shown'), POLL)
        .toBe('2');
    }
    // Kai has no money: the gift is refused with a reason, nothing is sent.
    await kai.page.getByTestId('gift-heart').click();
    const status = kai.page.getByTestId('gift-bar').locator('.gift-status');
    await expect.poll(() => status.textContent(), POLL).toBe('Not enough balance.');
    // The reason goes away by itself.
    await expect.poll(() => status.textContent(), POLL).toBe('');
  });

  it("a viewer's connection is cut and comes back with everything it missed", async () => {
    const { host, leo, kai } = await startRoom();
    await leo.cut();
    await expect.poll(() => connection(leo.page), POLL).toBe('reconnecting/');
    const missed = ['Missed you 1', 'Missed you 2', 'Missed you 3'];
    for (const text of missed) await sendComment(host.page, text);
    await expect.poll(() => feedTexts(kai.page), POLL).toEqual(expect.arrayContaining(missed));
    expect(await feedTexts(leo.page)).not.toContain(missed[0]);
    leo.restore();
    await live(leo.page, 'ws');
    await expect.poll(() => feedTexts(leo.page), POLL).toEqual(expect.arrayContaining(missed));
    // Nothing lost, nothing twice: the same comments in the same order as the host's.
    await expect.poll(() => feedMatch(leo.page, host.page), POLL).toBe('same');
    expect(await leo.page.getByTestId('connection').getAttribute('data-reconnects')).toBe('1');
  });

  it('the pull toggle moves a viewer to HTTP polling and back without losing comments', async () => {
    const { host, leo } = await startRoom({ kai: false });
    await sendComment(host.page, 'Still pushing');
    await expect.poll(() => feedTexts(leo.page), POLL).toContain('Still pushing');
    await leo.page.getByTestId('force-pull').check();
    await live(leo.page, 'pull');
    expect(await leo.page.getByTestId('connection-label').textContent()).toBe('Live · HTTP pull');
    await sendComment(host.page, 'Now polling');
    await expect.poll(() => feedTexts(leo.page), POLL).toContain('Now polling');
    await leo.page.getByTestId('force-pull').uncheck();
    await live(leo.page, 'ws');
    await sendComment(host.page, 'Back to push');
    await expect.poll(() => feedTexts(leo.page), POLL).toContain('Back to push');
    await expect.poll(() => feedMatch(leo.page, host.page), POLL).toBe('same');
  });

  it('screenshots of the room at desktop and phone sizes', async () => {
    const { host, leo, kai } = await startRoom({ plain: true });
    const edits = [
      ['pinned', 'Be kind. Every gift goes to the stall fund.'],
      ['title', 'Night market: live from stall 12'],
    ] as const;
    for (const [name, value] of edits) {
      await host.page.getByTestId(`console-${name}`).fill(value);
      await host.page.getByTestId(`console-save-${name}`).click();
      await expect.poll(() => host.page.getByTestId('console-status').textContent(), POLL).toBe('Saved.');
    }
    const chatter: Array<[UserPage, string]> = [
      [host, 'Welcome to the night market!'],
      [leo, 'The lanterns tonight 😍'],
      [kai, 'Raffle! Count me in'],
      [host, 'Next up: the noodle stall'],
      [leo, 'How much for the bao?'],
      [kai, '+1 for noodles'],
    ];
    for (const [person, text] of chatter) await sendComment(person.page, text);
    await kai.page.getByTestId('like').click();
    await leo.page.getByTestId('like').click();
    if (giftsAvailable) {
      await leo.page.getByTestId('top-up').click();
      await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('1,000');
      for (const gift of ['rose', 'rocket', 'heart']) await leo.page.getByTestId(`gift-${gift}`).click();
    }
    for (const person of [host, kai])
      await expect.poll(() => feedTexts(person.page), POLL).toContain('+1 for noodles');
    await expect.poll(() => host.page.getByTestId('like-count').textContent(), POLL).toBe('2');
    const shots: Array<[UserPage, string]> = [
      [host, 'room-host-desktop.png'],
      [kai, 'room-viewer-phone.png'],
    ];
    for (const [person, file] of shots) {
      if (giftsAvailable) {
        await expect
          .poll(() => person.page.getByTestId('gift-layer').getAttribute('data-shown'), POLL)
          .toBe('3');
      }
      // No focus ring, no scrolled page: the view a person gets, with the gift card in place.
      await person.page.evaluate(() => {
        (document.activeElement as HTMLElement | null)?.blur();
        window.scrollTo(0, 0);
      });
      await nextFrames(person.page);
      await person.page.screenshot({ path: `${SCREENSHOTS}${file}` });
    }
  });

  it('hundreds of comments keep the page bounded and responsive', async () => {
    const { roomId, leo, host } = await startRoom({ kai: false });
    const ops = await user(DESKTOP);
    await ops.page.goto(`${server.httpUrl}/ops?interval=500`);
    await signIn(ops.page, 'eu', 'ops');
    await ops.page.locator(`[data-testid=ops-room][data-room="${roomId}"]`).waitFor();
    // The largest feed and stage Leo's page had at any frame while the flood lasts.
    await leo.page.evaluate(() => {
      const w = globalThis as unknown as { peak: { lines: number; bullets: number }; recording: boolean };
      w.peak = { lines: 0, bullets: 0 };
      w.recording = true;
      const tick = () => {
        w.peak.lines = Math.max(w.peak.lines, document.querySelectorAll('[data-testid=comment]').length);
        w.peak.bullets = Math.max(w.peak.bullets, document.querySelectorAll('.bullet').length);
        if (w.recording) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const fans = Array.from({ length: 8 }, (_, i) => `eu_fan${castNumber}x${i}`);
    const tokens = await Promise.all(fans.map((u) => server.token(u)));
    const perFan = 50;
    let lastSeq = 0;
    await Promise.all(
      tokens.map(async (token, u) => {
        for (let i = 0; i < perFan; i++) {
          const response = await fetch(`${server.httpUrl}/v1/rooms/${roomId}/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              type: 'comment',
              data: { text: i % 5 === 0 ? '666' : `fan ${u} says ${i}` },
            }),
          });
          expect(response.status).toBe(201);
          lastSeq = Math.max(lastSeq, ((await response.json()) as { seq: number }).seq);
        }
      }),
    );
    // The flood's last comment arrives (the feed keeps only the newest lines, so not all of them).
    await expect
      .poll(async () => Math.max(0, ...(await feedSeqs(leo.page))), POLL)
      .toBeGreaterThanOrEqual(lastSeq);
    const danmaku = leo.page.getByTestId('danmaku');
    // Overload is a policy: identical comments merged, the oldest waiting ones dropped.
    await expect
      .poll(
        async () =>
          Number(await danmaku.getAttribute('data-merged')) +
          Number(await danmaku.getAttribute('data-dropped')),
        POLL,
      )
      .toBeGreaterThan(0);
    const stats = await leo.page.evaluate(() => {
      const w = globalThis as unknown as { peak: { lines: number; bullets: number }; recording: boolean };
      w.recording = false;
      return {
        peak: w.peak,
        lines: document.querySelectorAll('[data-testid=comment]').length,
        bullets: document.querySelectorAll('.bullet').length,
      };
    });
    // The feed and the stage stayed bounded the whole time, not only at the end.
    expect(Math.max(stats.peak.lines, stats.lines)).toBeLessThanOrEqual(200);
    expect(Math.max(stats.peak.bullets, stats.bullets)).toBeLessThanOrEqual(60);
    // Still responsive: Leo's own comment is shown to him and reaches the host.
    await sendComment(leo.page, 'What a crowd!');
    await expect.poll(() => feedTexts(leo.page), POLL).toContain('What a crowd!');
    await expect.poll(() => feedTexts(host.page), POLL).toContain('What a crowd!');

    // The flood shows on the messages chart: its axis rose above the idle 0–1/s.
    const axis = ops.page.getByTestId('chart-messages').locator('.axis-top');
    await expect
      .poll(async () => Number.parseFloat((await axis.textContent())?.replace(/,/g, '') ?? '0'), POLL)
      .toBeGreaterThan(1);
    await ops.page.screenshot({ path: `${SCREENSHOTS}ops-desktop.png` });
    await ops.page.setViewportSize(PHONE);
    await nextFrames(ops.page);
    await ops.page.screenshot({ path: `${SCREENSHOTS}ops-phone.png` });
  });

  it('moderation: a muted viewer cannot comment; a kicked viewer is out', async () => {
    const cast = await startRoom();
    const { host, leo, kai } = cast;
    await sendComment(kai.page, 'Still here!');
    await sendComment(leo.page, 'Me too');
    await expect
      .poll(() => feedTexts(host.page), POLL)
      .toEqual(expect.arrayContaining(['Still here!', 'Me too']));
    await host.page.locator(`[data-testid=comment][data-from="${cast.ids.kai}"] .author`).first().click();
    await host.page.getByTestId('moderate-mute').click();
    await expect
      .poll(() => host.page.getByTestId('menu-status').textContent(), POLL)
      .toBe('Mute 10 min: done.');
    await host.page.keyboard.press('Escape');
    await host.page.getByTestId('user-menu').waitFor({ state: 'hidden' });
    await expect.poll(() => privateTexts(kai.page), POLL).toEqual(['You were muted for 10 min.']);
    await sendComment(kai.page, 'can I still talk?');
    await expect
      .poll(() => kai.page.getByTestId('composer-error').textContent(), POLL)
      .toBe('You are muted in this room.');

    await host.page.locator(`[data-testid=comment][data-from="${cast.ids.leo}"] .author`).first().click();
    await host.page.getByTestId('moderate-kick').click();
    await expect
      .poll(() => visibleText(leo.page, 'room-ended'), POLL)
      .toContain('You were removed from this room.');
    await host.page.keyboard.press('Escape');
  });

  it('the host ends the room and the viewers are told', async () => {
    const { host, leo, kai } = await startRoom();
    await host.page.getByTestId('end-room').click();
    await host.page.getByTestId('end-room').click();
    for (const person of [leo, kai])
      await expect.poll(() => visibleText(person.page, 'room-ended'), POLL).toContain('This room has ended.');
    await expect.poll(() => visibleText(host.page, 'room-ended'), POLL).toContain('This room has ended.');
  });
});
