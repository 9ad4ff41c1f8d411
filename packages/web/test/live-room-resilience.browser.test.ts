import { describe, expect, it } from 'vitest';
import {
  BROWSER_TEST_TIMEOUT_MS,
  connection,
  DESKTOP,
  feedMatch,
  feedSeqs,
  feedTexts,
  nextFrames,
  PHONE,
  POLL,
  privateTexts,
  saveFromConsole,
  sendComment,
  signIn,
  type UserPage,
  visibleText,
} from './helpers/browser.ts';

import { SCREENSHOTS, useLiveRoom } from './helpers/live-room-fixture.ts';

/** The web app in Chromium: reconnects, pull, screenshots, floods, moderation and the end. Every test starts its own room with its own people (see `useLiveRoom`): any order works. */
describe(
  'web app in Chromium: reconnects, pull, screenshots, floods, moderation and the end',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    const room = useLiveRoom();
    const { live, user, startRoom } = room;

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
      await saveFromConsole(host.page, edits);
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
      if (room.giftsAvailable) {
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
        if (room.giftsAvailable) {
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
      await ops.page.goto(`${room.server.httpUrl}/ops?interval=500`);
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
      const fans = Array.from({ length: 8 }, (_, i) => `eu_fan${room.castNumber}x${i}`);
      const tokens = await Promise.all(fans.map((u) => room.server.token(u)));
      const perFan = 50;
      let lastSeq = 0;
      await Promise.all(
        tokens.map(async (token, u) => {
          for (let i = 0; i < perFan; i++) {
            const response = await fetch(`${room.server.httpUrl}/v1/rooms/${roomId}/events`, {
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
        await expect
          .poll(() => visibleText(person.page, 'room-ended'), POLL)
          .toContain('This room has ended.');
      await expect.poll(() => visibleText(host.page, 'room-ended'), POLL).toContain('This room has ended.');
    });
  },
);
