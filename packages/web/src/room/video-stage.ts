import { h } from '../shared/dom.ts';
import { DanmakuStage } from './danmaku-stage.ts';
import { GiftEffects } from './gift-effects.ts';

/**
 * The video area: roomcast carries no video, so a placeholder stands where the stream would play,
 * with the layers roomcast does draw over it — the announcement banner, flying comments (with a
 * switch to turn them off) and gift animations — and a notice when the room ended.
 */
export interface VideoStageOptions {
  /** Whether comments fly over the video (the viewer's choice, remembered by the app). */
  danmaku: boolean;
  /** The viewer turned flying comments on or off. */
  onDanmakuChange(on: boolean): void;
}

export class VideoStage {
  readonly root: HTMLElement;
  readonly danmaku = new DanmakuStage();
  readonly gifts = new GiftEffects();
  readonly #announcement: HTMLElement;
  readonly #host: HTMLElement;
  readonly #ended: HTMLElement;
  readonly #chip = h('span', { className: 'live-chip', textContent: 'LIVE' });
  readonly #toggle: HTMLButtonElement;

  constructor(options: VideoStageOptions) {
    this.#toggle = h('button', {
      type: 'button',
      className: 'stage-toggle small',
      data: { testid: 'danmaku-toggle' },
      attrs: { 'aria-label': 'Flying comments' },
      onclick: () => {
        const on = this.#toggle.getAttribute('aria-pressed') !== 'true';
        this.#setDanmaku(on);
        options.onDanmakuChange(on);
      },
    });
    this.#announcement = h('div', {
      className: 'announcement',
      hidden: true,
      data: { testid: 'announcement' },
    });
    this.#host = h('span', { className: 'stage-host' });
    this.#ended = h('div', { className: 'stage-ended', hidden: true, data: { testid: 'room-ended' } });
    this.root = h(
      'div',
      { className: 'stage', data: { testid: 'stage' } },
      h(
        'div',
        { className: 'stage-placeholder' },
        this.#chip,
        this.#host,
        h('span', {
          className: 'stage-note',
          textContent: 'The video plays here — roomcast carries everything else.',
        }),
      ),
      this.danmaku.root,
      this.gifts.root,
      this.#announcement,
      this.#toggle,
      this.#ended,
    );
    this.#setDanmaku(options.danmaku);
  }

  setHost(hostId: string): void {
    this.#host.textContent = hostId;
  }

  setAnnouncement(text: string): void {
    this.#announcement.textContent = text;
    this.#announcement.hidden = text === '';
  }

  /**
   * Covers the stage with why the room is over for this viewer, and a way out; `roomEnded` when
   * the room itself ended (not only this viewer's place in it).
   */
  showEnded(message: string, onExit: () => void, roomEnded: boolean): void {
    if (roomEnded) {
      this.#chip.textContent = 'ENDED';
      this.#chip.classList.add('ended');
    }
    this.#ended.replaceChildren(
      h('p', { textContent: message }),
      h('button', {
        type: 'button',
        className: 'primary',
        textContent: 'Back to live rooms',
        onclick: onExit,
      }),
    );
    this.#ended.hidden = false;
    this.#toggle.hidden = true;
    this.danmaku.setEnabled(false);
  }

  #setDanmaku(on: boolean): void {
    this.#toggle.setAttribute('aria-pressed', String(on));
    this.#toggle.textContent = on ? '💬 On' : '💬 Off';
    this.#toggle.title = on
      ? 'Flying comments: on (click to hide them)'
      : 'Flying comments: off (click to show them)';
    this.danmaku.setEnabled(on);
  }

  dispose(): void {
    this.danmaku.dispose();
    this.gifts.dispose();
  }
}
