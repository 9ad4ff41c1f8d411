import type { TransportMode } from '@roomcast/client';
import { h } from '../shared/dom.ts';
import { type ConnectionView, connectionLabel, connectionShortLabel } from './connection-state.ts';

/**
 * Where the connection stands (live over WebSocket or HTTP pull, reconnecting in N s …) and the
 * "force pull" switch. `data-phase` and `data-transport` carry the same for tests.
 */
export class ConnectionBadge {
  readonly root: HTMLElement;
  readonly #label: HTMLElement;
  /** The label on a phone (CSS shows one of the two). */
  readonly #short: HTMLElement;
  readonly #pull: HTMLInputElement;
  #view: ConnectionView | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(mode: TransportMode, onModeChange: (mode: TransportMode) => void) {
    this.#label = h('span', { className: 'conn-label', data: { testid: 'connection-label' } });
    this.#short = h('span', { className: 'conn-short', textContent: '…' });
    this.#pull = h('input', {
      type: 'checkbox',
      checked: mode === 'pull',
      data: { testid: 'force-pull' },
      onchange: () => onModeChange(this.#pull.checked ? 'pull' : 'auto'),
    });
    this.root = h(
      'div',
      { className: 'conn', data: { testid: 'connection', phase: 'connecting', transport: '' } },
      h('span', { className: 'conn-dot', attrs: { 'aria-hidden': 'true' } }),
      this.#label,
      this.#short,
      h(
        'label',
        { className: 'conn-toggle', title: 'Poll over HTTP instead of WebSocket push' },
        this.#pull,
        'Pull only',
      ),
    );
    this.#label.textContent = 'Connecting…';
  }

  update(view: ConnectionView): void {
    this.#view = view;
    this.root.dataset.phase = view.phase;
    this.root.dataset.transport = view.transport ?? '';
    this.root.dataset.reconnects = String(view.reconnects);
    this.root.title = view.detail;
    this.#pull.checked = view.mode === 'pull';
    this.#render();
    // Count down to the next attempt while reconnecting.
    if (view.phase === 'reconnecting' && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#render(), 500);
    } else if (view.phase !== 'reconnecting' && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  dispose(): void {
    clearInterval(this.#timer);
  }

  #render(): void {
    if (this.#view === undefined) return;
    const now = Date.now();
    this.#label.textContent = connectionLabel(this.#view, now);
    this.#short.textContent = connectionShortLabel(this.#view, now);
  }
}
