import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/test-server.ts';
import { ensureWebBuild } from '../tools/build-web.ts';
import {
  ACTION_TIMEOUT_MS,
  BROWSER_SETUP_TIMEOUT_MS,
  BROWSER_TEST_TIMEOUT_MS,
  POLL,
} from './helpers/browser.ts';

/** Debian's Firefox ESR (`apt-get install firefox-esr`; .ci/run installs it). Never a downloaded browser. */
const FIREFOX_PATH = process.env.ROOMCAST_FIREFOX ?? '/usr/bin/firefox-esr';
/** Same convention as the Chromium test: docs/screenshots only when ROOMCAST_UPDATE_SCREENSHOTS=1. */
const SCREENSHOTS =
  process.env.ROOMCAST_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'roomcast-screenshots/');
const VIEWPORT = { width: 1280, height: 800 } as const;

/** Fails with one line naming the Debian package when there is no Firefox to drive. */
function requireFirefox(): void {
  if (existsSync(FIREFOX_PATH)) return;
  const error = new Error(
    `no Firefox at ${FIREFOX_PATH}: apt-get install firefox-esr (or set ROOMCAST_FIREFOX)`,
  );
  error.stack = error.message;
  throw error;
}

function launchFirefox(): Promise<Browser> {
  // Puppeteer drives Firefox natively over WebDriver BiDi, in a fresh temporary profile.
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    defaultViewport: VIEWPORT,
    extraPrefsFirefox: {
      // Nothing fetched from elsewhere, no first-run pages.
      'app.update.enabled': false,
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.reportingpolicy.firstRun': false,
    },
  });
}

/** One person: their own browser context (own storage, own connection) with one page. */
interface FirefoxUser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page. */
  errors: string[];
}

async function openUser(browser: Browser): Promise<FirefoxUser> {
  const context = await browser.createBrowserContext();
  // A window of its own: tabs in one window hide each other, and Firefox runs no animation frames
  // in a hidden page (the feed and the danmaku would stall there).
  const page = await context.newPage({ type: 'window' });
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  await page.setViewport(VIEWPORT);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
  return { context, page, errors };
}

const byTestId = (id: string) => `[data-testid="${id}"]`;

async function signIn(page: Page, region: string, name: string): Promise<void> {
  await page.waitForSelector(byTestId('sign-in-region'));
  await page.select(byTestId('sign-in-region'), region);
  await page.locator(byTestId('sign-in-name')).fill(name);
  await page.locator(`${byTestId('dev-sign-in')} button[type=submit]`).click();
  await page.waitForSelector(byTestId('sign-in'), { hidden: true });
}

async function sendComment(page: Page, text: string): Promise<void> {
  await page.locator(byTestId('comment-input')).fill(text);
  await page.focus(byTestId('comment-input'));
  await page.keyboard.press('Enter');
}

const feedTexts = (page: Page) =>
  page.$$eval('[data-testid=comment] .text', (els) => els.map((el) => el.textContent ?? ''));
const feedSeqs = (page: Page) =>
  page.$$eval('[data-testid=comment]', (els) => els.map((el) => Number((el as HTMLElement).dataset.seq)));
const text = (page: Page, id: string) =>
  page.$eval(byTestId(id), (el) => el.textContent ?? '').catch(() => '');
const connection = (page: Page) =>
  page
    .$eval(
      byTestId('connection'),
      (el) => `${el.getAttribute('data-phase')}/${el.getAttribute('data-transport')}`,
    )
    .catch(() => '');
/** The text of an element, or '' when it is hidden or missing. */
const visibleText = (page: Page, id: string) =>
  page
    .$eval(byTestId(id), (el) => ((el as HTMLElement).checkVisibility() ? (el.textContent ?? '') : ''))
    .catch(() => '');

/** A host and a viewer of one test's room. */
interface Pair {
  host: FirefoxUser;
  viewer: FirefoxUser;
}

/**
 * The live room in Debian's Firefox ESR, driven by Puppeteer over WebDriver BiDi (the Chromium test
 * uses Playwright, which cannot drive an unpatched Firefox): a host and a viewer, each in their own
 * browser context, against `roomcast dev` started in this process. Every test starts its own room
 * with its own host and viewer, so any test runs alone; only the server and the browser are shared.
 */
describe('web app in Firefox', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let server: TestServer;
  let browser: Browser;
  /** What the current test opened: checked for uncaught errors and closed after it. */
  let opened: FirefoxUser[] = [];
  /** Makes every test's users unique ("one live room per host" is per user). */
  let pairNumber = 0;

  beforeAll(async () => {
    requireFirefox();
    await ensureWebBuild({ quiet: true });
    [server, browser] = await Promise.all([
      startTestServer({
        gateway: { presenceIntervalMs: 300 },
        worker: { onlineIntervalMs: 300 },
      }),
      launchFirefox(),
    ]);
    await mkdir(SCREENSHOTS, { recursive: true });
  }, BROWSER_SETUP_TIMEOUT_MS);

  afterEach(async () => {
    const users = opened;
    opened = [];
    const errors = users.flatMap((user) => user.errors);
    for (const user of users) await user.context.close().catch(() => undefined);
    expect(errors, 'uncaught errors on the pages').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A host starts a room; a viewer joins it from the shared link. */
  async function startRoom(title: string): Promise<Pair> {
    const n = ++pairNumber;
    const host = await openUser(browser);
    opened.push(host);
    await host.page.goto(`${server.httpUrl}/`);
    await signIn(host.page, 'eu', `maya${n}`);
    await host.page.locator(byTestId('new-room-title')).fill(title);
    await host.page.locator(byTestId('start-room')).click();
    await host.page.waitForFunction(() => location.pathname.startsWith('/rooms/'));
    const roomId = decodeURIComponent(new URL(host.page.url()).pathname.split('/')[2] ?? '');
    expect(roomId).toMatch(/^eu_/);
    await expect.poll(() => connection(host.page), POLL).toBe('live/ws');
    // The connection shows live a moment before the page knows whose room it is (it starts as a viewer's).
    await expect
      .poll(() => host.page.$eval(byTestId('room-page'), (el) => el.getAttribute('data-role')), POLL)
      .toBe('host');
    const link = await host.page.$eval(byTestId('room-link'), (el) => (el as HTMLInputElement).value);
    expect(link).toBe(`${server.httpUrl}/rooms/${roomId}`);

    const viewer = await openUser(browser);
    opened.push(viewer);
    await viewer.page.goto(link);
    await signIn(viewer.page, 'us', `leo${n}`);
    await expect.poll(() => connection(viewer.page), POLL).toBe('live/ws');
    expect(await viewer.page.$eval(byTestId('room-page'), (el) => el.getAttribute('data-role'))).toBe(
      'viewer',
    );
    await expect.poll(() => text(viewer.page, 'room-title'), POLL).toBe(title);
    return { host, viewer };
  }

  it('a host starts a room and a viewer joins from the shared link', async () => {
    const { host, viewer } = await startRoom('Firefox night market');
    await expect.poll(() => text(viewer.page, 'online-count'), POLL).toBe('2');
    // Both people look at their page: neither is a background tab.
    for (const user of [host, viewer]) {
      expect(await user.page.evaluate(() => document.visibilityState)).toBe('visible');
    }
  });

  it('comments go both ways, in the same order, and fly over the video', async () => {
    const { host, viewer } = await startRoom('Firefox night market');
    await sendComment(viewer.page, 'Hello from Firefox 🦊');
    await expect.poll(() => feedTexts(host.page), POLL).toContain('Hello from Firefox 🦊');
    await sendComment(host.page, 'Welcome, fox!');
    await expect.poll(() => feedTexts(viewer.page), POLL).toContain('Welcome, fox!');
    const all = ['Hello from Firefox 🦊', 'Welcome, fox!'];
    for (const user of [host, viewer]) await expect.poll(() => feedTexts(user.page), POLL).toEqual(all);
    expect(await feedSeqs(viewer.page)).toEqual(await feedSeqs(host.page));
    await expect
      .poll(() => viewer.page.$eval(byTestId('danmaku'), (el) => Number(el.getAttribute('data-shown'))), POLL)
      .toBeGreaterThanOrEqual(2);
  });

  it('the pinned message set by the host reaches the viewer; a screenshot of the viewer', async () => {
    const { host, viewer } = await startRoom('Firefox night market');
    // The console's fields sit side by side without overlapping (they did in Firefox once).
    const overlaps = await host.page.$$eval('.console-field', (forms) =>
      forms.flatMap((form, i) => {
        const input = form.querySelector('input')!.getBoundingClientRect();
        const save = form.querySelector('button')!.getBoundingClientRect();
        const next = forms[i + 1]?.getBoundingClientRect();
        const overlapping = save.left < input.right || (next !== undefined && save.right > next.left);
        return overlapping ? [form.querySelector('input')!.name] : [];
      }),
    );
    expect(overlaps).toEqual([]);
    const pinned = 'Be kind. Firefox users welcome.';
    await host.page.locator(byTestId('console-pinned')).fill(pinned);
    await host.page.locator(byTestId('console-save-pinned')).click();
    await expect.poll(() => text(host.page, 'console-status'), POLL).toBe('Saved.');
    await expect.poll(() => visibleText(viewer.page, 'pinned'), POLL).toContain(pinned);
    expect(await viewer.page.$(byTestId('host-console'))).toBeNull();

    // The screenshot shows a room in use: a few comments under the pinned message.
    await sendComment(viewer.page, 'Hello from Firefox 🦊');
    await sendComment(host.page, 'Welcome, fox!');
    await expect.poll(() => feedTexts(viewer.page), POLL).toEqual(['Hello from Firefox 🦊', 'Welcome, fox!']);
    await viewer.page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    // Two rendered frames: the blur and the scroll are painted, however slow the machine.
    await viewer.page.evaluate(
      () =>
        new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
    );
    await viewer.page.screenshot({ path: `${SCREENSHOTS}room-viewer-firefox.png` });
  });
});
