import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  BROWSER_TEST_TIMEOUT_MS,
  DESKTOP,
  feedTexts,
  nextFrames,
  POLL,
  sendComment,
  signIn,
  visibleText,
} from './helpers/browser.ts';

import { useLiveRoom } from './helpers/live-room-fixture.ts';

/** Each comment of the feed as `text` or, from someone the page badged as the host, `host: text`. */
function badgedComments(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid=comment]', (els) =>
    els.map((el) => {
      const text = el.querySelector('.text')?.textContent ?? '';
      return el.querySelector('.tag')?.textContent === 'host' ? `host: ${text}` : text;
    }),
  );
}

/** The user IDs of the people panel, in its order, with ` (host)` / ` (you)` as it tags them. */
function people(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid=person]', (els) =>
    els.map((el) => {
      const tags = Array.from(el.querySelectorAll('.tag'), (t) => ` (${t.textContent})`).join('');
      return `${(el as HTMLElement).dataset.user}${tags}`;
    }),
  );
}

/** What the host's stage showed for each gift card, recorded as the cards are added. */
interface RecordedCard {
  tier: string;
  count: string;
  durationMs: number;
  burst: number;
}

/** Records every gift card added to the page's stage (cards leave when their animation ends). */
function recordGiftCards(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { giftCards: RecordedCard[] };
    w.giftCards = [];
    const layer = document.querySelector('[data-testid=gift-layer]');
    if (layer === null) throw new Error('no gift layer');
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of Array.from(record.addedNodes)) {
          if (!(node instanceof HTMLElement) || node.dataset.testid !== 'gift-card') continue;
          w.giftCards.push({
            tier: node.dataset.tier ?? '',
            count: node.querySelector('.gift-count')?.textContent?.trim() ?? '',
            durationMs: Number.parseFloat(getComputedStyle(node).animationDuration) * 1000,
            burst: node.querySelectorAll('.gift-burst > *').length,
          });
        }
      }
    }).observe(layer, { childList: true });
  });
}

function recordedCards(page: Page): Promise<RecordedCard[]> {
  return page.evaluate(() => (globalThis as unknown as { giftCards: RecordedCard[] }).giftCards);
}

/** The web app in Chromium: what a new user missed. Every test starts its own room (see `useLiveRoom`). */
describe(
  'web app in Chromium: host badges, live titles, the end, gift sizes, counts, people, danmaku off',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    const room = useLiveRoom();
    const { live, user, startRoom, everyone } = room;

    it("the host's comments carry the host badge from history, live and after a reconnect", async () => {
      const cast = await startRoom({ kai: false });
      const { host, leo } = cast;
      await sendComment(host.page, 'Before you came');
      await sendComment(leo.page, 'Early bird');
      await expect
        .poll(() => badgedComments(leo.page), POLL)
        .toEqual(['host: Before you came', 'Early bird']);
      // A viewer who comes now reads both comments from the room's history.
      const late = await user(DESKTOP);
      await late.page.goto(cast.link);
      await signIn(late.page, 'ap', `late${room.castNumber}`);
      await live(late.page, 'ws');
      await expect
        .poll(() => badgedComments(late.page), POLL)
        .toEqual(['host: Before you came', 'Early bird']);
      await sendComment(host.page, 'Live now');
      await expect.poll(() => badgedComments(late.page), POLL).toContain('host: Live now');
      // Leo's connection drops; what the host says meanwhile arrives on reconnect, badged.
      await leo.cut();
      await sendComment(host.page, 'While you were away');
      await expect.poll(() => feedTexts(late.page), POLL).toContain('While you were away');
      leo.restore();
      await live(leo.page, 'ws');
      await expect
        .poll(() => badgedComments(leo.page), POLL)
        .toEqual(['host: Before you came', 'Early bird', 'host: Live now', 'host: While you were away']);
    });

    it('an edited title reaches the live list and the dashboard while they are open', async () => {
      const { roomId, host } = await startRoom({ kai: false });
      const lobby = await user(DESKTOP);
      await lobby.page.goto(`${room.server.httpUrl}/`);
      await signIn(lobby.page, 'us', `browser${room.castNumber}`);
      const item = lobby.page.locator(`[data-testid=live-room][data-room="${roomId}"] .room-item-title`);
      await expect.poll(() => item.textContent(), POLL).toBe('Night market live');
      const ops = await user(DESKTOP);
      await ops.page.goto(`${room.server.httpUrl}/ops?interval=500`);
      await signIn(ops.page, 'eu', 'ops');
      const row = ops.page.locator(`[data-testid=ops-room][data-room="${roomId}"] a`);
      await expect.poll(() => row.textContent(), POLL).toBe('Night market live');

      const edited = 'Night market: the noodle stall';
      await host.page.getByTestId('console-title').fill(edited);
      await host.page.getByTestId('console-save-title').click();
      await expect.poll(() => host.page.getByTestId('console-status').textContent(), POLL).toBe('Saved.');
      await expect.poll(() => item.textContent(), POLL).toBe(edited);
      await expect.poll(() => row.textContent(), POLL).toBe(edited);
    });

    it('after the host ends the room, the button says so and the header shows the end, not a count', async () => {
      const { host, leo } = await startRoom({ kai: false });
      for (const person of [host, leo])
        await expect.poll(() => visibleText(person.page, 'online-count'), POLL).toMatch(/^\d+$/);
      const end = host.page.getByTestId('end-room');
      await end.click();
      expect(await end.textContent()).toBe('Click again to end');
      await end.click();
      await expect.poll(() => visibleText(host.page, 'room-ended'), POLL).toContain('This room has ended.');
      await expect.poll(() => end.textContent(), POLL).toBe('Ended');
      expect(await end.isDisabled()).toBe(true);
      for (const person of [host, leo]) {
        await expect.poll(() => visibleText(person.page, 'room-status'), POLL).toBe('Ended');
        expect(await visibleText(person.page, 'online-count')).toBe('');
      }
    });

    it('gifts: a count picker, and the animation grows with what a gift is worth', async () => {
      const { host, leo } = await startRoom({ kai: false });
      if (!room.giftsAvailable) {
        expect(await leo.page.getByTestId('gift-bar').count()).toBe(0);
        return;
      }
      await leo.page.getByTestId('gift-bar').waitFor();
      await host.page.getByTestId('gift-layer').waitFor({ state: 'attached' });
      await recordGiftCards(host.page);
      await leo.page.getByTestId('top-up').click();
      await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('1,000');
      // One at a time by default.
      expect(await leo.page.getByTestId('gift-count-1').getAttribute('aria-pressed')).toBe('true');
      await leo.page.getByTestId('gift-rose').click();
      await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('999');
      await leo.page.getByTestId('gift-count-500').click();
      expect(await leo.page.getByTestId('gift-count-500').getAttribute('aria-pressed')).toBe('true');
      expect(await leo.page.getByTestId('gift-count-1').getAttribute('aria-pressed')).toBe('false');
      // The buttons show what 500 of each cost; a Rocket ×500 is out of reach.
      expect(await leo.page.getByTestId('gift-rose').locator('.gift-price').textContent()).toBe('500');
      expect(await leo.page.getByTestId('gift-rocket').getAttribute('class')).toContain('unaffordable');
      await leo.page.getByTestId('gift-rose').click();
      await expect.poll(() => leo.page.getByTestId('balance').textContent(), POLL).toBe('499');
      for (const person of [host, leo]) {
        await expect
          .poll(
            () => person.page.$$eval('[data-testid=gift-line] .text', (els) => els.map((e) => e.textContent)),
            POLL,
          )
          .toEqual(['sent Rose 🌹', 'sent Rose 🌹 ×500']);
      }
      await expect.poll(async () => (await recordedCards(host.page)).length, POLL).toBe(2);
      const [one, many] = await recordedCards(host.page);
      expect(one).toMatchObject({ tier: '1', count: '', burst: 0 });
      expect(many?.count).toBe('×500');
      expect(Number(many?.tier)).toBeGreaterThan(Number(one?.tier));
      expect(many?.durationMs).toBeGreaterThan(one?.durationMs ?? Number.POSITIVE_INFINITY);
      expect(many?.burst).toBeGreaterThan(0);
    });

    it('a people panel lists who is in the room; the host opens their menu from it', async () => {
      const cast = await startRoom();
      const { host, leo, kai, ids } = cast;
      await sendComment(kai.page, 'Watching from the bus');
      await sendComment(leo.page, 'Hello all');
      const expected = expect.arrayContaining(
        [`${ids.host} (host)`, ids.leo, ids.kai].map((id) => expect.stringContaining(id)),
      );
      for (const person of everyone(cast)) {
        await person.page.getByTestId('people-toggle').click();
        await expect.poll(() => people(person.page), POLL).toEqual(expected);
        // The host comes first, and the page marks its own user.
        expect((await people(person.page))[0]).toMatch(new RegExp(`^${ids.host} \\(host\\)`));
      }
      expect(await people(leo.page)).toContain(`${ids.leo} (you)`);
      await expect.poll(() => host.page.getByTestId('people-count').textContent(), POLL).toBe('3');
      await host.page.locator(`[data-testid=person][data-user="${ids.leo}"] .author`).click();
      await host.page.getByTestId('user-menu').waitFor();
      await host.page.keyboard.press('Escape');
    });

    it('flying comments can be turned off, and the page remembers it', async () => {
      const { host, leo } = await startRoom({ kai: false });
      const danmaku = leo.page.getByTestId('danmaku');
      const toggle = leo.page.getByTestId('danmaku-toggle');
      expect(await toggle.getAttribute('aria-pressed')).toBe('true');
      await sendComment(host.page, 'Up in the air');
      await expect.poll(async () => Number(await danmaku.getAttribute('data-shown')), POLL).toBe(1);
      await toggle.click();
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      expect(await danmaku.isVisible()).toBe(false);
      await sendComment(host.page, 'Grounded');
      await expect.poll(() => feedTexts(leo.page), POLL).toContain('Grounded');
      // The stage would have taken it within a frame or two of the feed.
      await nextFrames(leo.page, 3);
      expect(Number(await danmaku.getAttribute('data-shown'))).toBe(1);
      // Remembered across a reload.
      await leo.page.reload();
      await live(leo.page, 'ws');
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      expect(await danmaku.isVisible()).toBe(false);
      await toggle.click();
      await sendComment(host.page, 'Flying again');
      await expect.poll(async () => Number(await danmaku.getAttribute('data-shown')), POLL).toBe(1);
    });
  },
);
