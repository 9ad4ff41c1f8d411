import { describe, expect, it } from 'vitest';
import {
  BROWSER_TEST_TIMEOUT_MS,
  DESKTOP,
  feedSeqs,
  feedTexts,
  POLL,
  privateTexts,
  saveFromConsole,
  sendComment,
  signIn,
  visibleText,
} from './helpers/browser.ts';

import { useLiveRoom } from './helpers/live-room-fixture.ts';

/** The web app in Chromium: a room, its comments, state, whispers and gifts. Every test starts its own room with its own people (see `useLiveRoom`): any order works. */
describe(
  'web app in Chromium: a room, its comments, state, whispers and gifts',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    const room = useLiveRoom();
    const { user, startRoom, everyone, leoSpeaks } = room;

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
      const all = [
        'Welcome to the night market!',
        'Those dumplings look amazing',
        'Watching from the bus 🚌',
      ];
      for (const person of [host, leo, kai])
        await expect.poll(() => feedTexts(person.page), POLL).toEqual(all);
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
      await ops.page.goto(`${room.server.httpUrl}/ops?interval=500`);
      await signIn(ops.page, 'eu', 'ops');
      const row = ops.page.locator(`[data-testid=ops-room][data-room="${roomId}"]`);
      await row.waitFor();
      expect(await row.locator('a').textContent()).toBe('Night market live');
      await expect.poll(() => row.getByTestId('ops-room-online').textContent(), POLL).toBe('2');
      // Only this test's host and Leo hold connections (earlier tests' pages were closed).
      await expect.poll(() => ops.page.getByTestId('kpi-connections').textContent(), POLL).toBe('2');
      expect(await ops.page.getByTestId('ops-gateway').count()).toBe(1);
      // A viewer without the admin role is refused at /v1/admin/stats.
      const refused = await fetch(`${room.server.httpUrl}/v1/admin/stats`, {
        headers: { authorization: `Bearer ${await room.server.token(ids.leo)}` },
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
      await saveFromConsole(host.page, edits);
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
      if (!room.giftsAvailable) {
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
  },
);
