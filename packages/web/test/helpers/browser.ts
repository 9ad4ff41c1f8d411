import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page, type WebSocketRoute } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Never a downloaded browser. */
export const CHROMIUM_PATH = process.env.ROOMCAST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 } as const;

/**
 * How long a browser test may take. Generous: on a busy machine a test is slower, and no browser
 * test measures time (performance belongs in the benchmarks); a stuck test still ends here.
 */
export const BROWSER_TEST_TIMEOUT_MS = 120_000;

/**
 * How long a browser file's setup (a `roomcast dev` server and a browser, started together) may
 * take: each is seconds on an idle machine and took over a minute beside a benchmark and other
 * test runs. A limit on a stuck start, not a measurement.
 */
export const BROWSER_SETUP_TIMEOUT_MS = 180_000;
/**
 * `expect.poll` options of the browser tests: a condition awaited for as long as a busy machine may
 * need (only a wrong result, never a slow one, should fail a test), well inside the test's timeout.
 */
export const POLL = { timeout: 45_000, interval: 100 } as const;
/** A stuck browser action fails with its reason after this long, before the test's own timeout. */
export const ACTION_TIMEOUT_MS = 30_000;
export const PHONE = { width: 390, height: 844 } as const;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set ROOMCAST_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** How a user's WebSocket connections reach the server. */
export type WebSocketPolicy =
  /** Straight through. */
  | 'direct'
  /** Through a test proxy that can cut them (see `UserPage.cut`). */
  | 'proxied'
  /** Every WebSocket fails at once, as behind a proxy that does not upgrade. */
  | 'blocked';

/** One person's browser: an isolated context (own storage, own connection) with one page. */
export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page; a test ends by checking there are none. */
  errors: string[];
  /** `proxied` only: closes the open WebSocket and holds new ones until `restore()`. */
  cut(): Promise<void>;
  /** `proxied` only: lets held and new WebSocket connections through. */
  restore(): void;
}

export async function openUser(
  browser: Browser,
  options: { viewport: { width: number; height: number }; webSocket?: WebSocketPolicy },
): Promise<UserPage> {
  const phone = options.viewport.width < 500;
  const context = await browser.newContext({
    viewport: options.viewport,
    deviceScaleFactor: 1,
    isMobile: phone,
    hasTouch: phone,
    reducedMotion: 'no-preference',
  });
  // Fail a stuck action with its reason before the test's own timeout.
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const open: Array<{ page: WebSocketRoute; server: WebSocketRoute }> = [];
  let hold: Promise<void> | undefined;
  let release = () => {};
  const policy = options.webSocket ?? 'direct';
  if (policy === 'blocked') {
    await context.routeWebSocket(/\/v1\/ws/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
  } else if (policy === 'proxied') {
    await context.routeWebSocket(/\/v1\/ws/, async (ws) => {
      // While held, the page's socket stays CONNECTING, like a network that is down.
      if (hold !== undefined) await hold;
      open.push({ page: ws, server: ws.connectToServer() });
    });
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return {
    context,
    page,
    errors,
    cut: async () => {
      hold = new Promise((resolve) => {
        release = resolve;
      });
      for (const ws of open.splice(0)) {
        await ws.page.close({ code: 4000, reason: 'connection cut by the test' });
        await ws.server.close();
      }
    },
    restore: () => {
      hold = undefined;
      release();
    },
  };
}

/** Signs in with the dev sign-in form. */
export async function signIn(page: Page, region: string, name: string): Promise<void> {
  await page.getByTestId('sign-in-region').selectOption(region);
  await page.getByTestId('sign-in-name').fill(name);
  await page.getByTestId('dev-sign-in').locator('button[type=submit]').click();
  await page.getByTestId('sign-in').waitFor({ state: 'detached' });
}

/** Types a comment and sends it. */
export async function sendComment(page: Page, text: string): Promise<void> {
  await page.getByTestId('comment-input').fill(text);
  await page.getByTestId('comment-input').press('Enter');
}

/** The host saves each state partial from the console, one after another, each until it says "Saved.". */
export async function saveFromConsole(
  page: Page,
  edits: ReadonlyArray<readonly [string, string]>,
): Promise<void> {
  for (const [name, value] of edits) {
    await page.getByTestId(`console-${name}`).fill(value);
    await page.getByTestId(`console-save-${name}`).click();
    await expect.poll(() => page.getByTestId('console-status').textContent(), POLL).toBe('Saved.');
  }
}

/** The feed's comments, oldest first, as `text`. */
export function feedTexts(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid=comment] .text', (els) => els.map((el) => el.textContent ?? ''));
}

/** The feed's comments' seqs, oldest first. */
export function feedSeqs(page: Page): Promise<number[]> {
  return page.$$eval('[data-testid=comment]', (els) =>
    els.map((el) => Number((el as HTMLElement).dataset.seq)),
  );
}

/**
 * Whether two pages show the same comments (by seq, in order): `same`, or both lists to read in a
 * failure. Polled, because the sender's own page renders its comment when the gateway echoes it,
 * which may come after another viewer already has it.
 */
export async function feedMatch(page: Page, reference: Page): Promise<string> {
  const [mine, theirs] = await Promise.all([feedSeqs(page), feedSeqs(reference)]);
  return mine.join() === theirs.join() ? 'same' : `[${mine.join()}] vs reference [${theirs.join()}]`;
}

/** The private messages' texts. */
export function privateTexts(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid=private-message] .text', (els) => els.map((el) => el.textContent ?? ''));
}

/** `phase/transport` of the connection badge, e.g. `live/ws`. */
export async function connection(page: Page): Promise<string> {
  const badge = page.getByTestId('connection');
  return `${await badge.getAttribute('data-phase')}/${await badge.getAttribute('data-transport')}`;
}

/** The text of an element, or '' when it is hidden or missing. */
export async function visibleText(page: Page, testId: string): Promise<string> {
  const el = page.getByTestId(testId);
  if ((await el.count()) === 0 || !(await el.first().isVisible())) return '';
  return (await el.first().textContent()) ?? '';
}

/**
 * Resolves after the page has rendered `count` more frames: what was just changed (focus, scroll,
 * viewport) is laid out and painted, however slow the machine.
 */
export function nextFrames(page: Page, count = 2): Promise<void> {
  return page.evaluate(
    (n) =>
      new Promise<void>((resolve) => {
        let left = n;
        const tick = () => (--left <= 0 ? resolve() : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
      }),
    count,
  );
}
