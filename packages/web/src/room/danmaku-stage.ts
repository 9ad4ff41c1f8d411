import { h } from '../shared/dom.ts';
import { BulletQueue, LaneScheduler, type QueuedBullet } from './danmaku-lanes.ts';

const LANE_HEIGHT_PX = 30;
const TOP_PADDING_PX = 8;
/** Lanes use at most this share of the stage's height, and at most this many lanes. */
const LANE_AREA = 0.78;
const MAX_LANES = 12;
/** A comment crosses the stage in about this long, whatever its width. */
const CROSSING_MS = 7_000;
/** Flying comments at once; more wait (bounded, see BulletQueue). */
const MAX_ACTIVE = 60;
const QUEUE_CAPACITY = 40;
const MAX_CHARS = 60;
/** Spare elements kept for reuse. */
const POOL_SIZE = 40;

/** Counters the stage exposes (also as `data-*` attributes, for tests and curious people). */
export interface DanmakuStats {
  active: number;
  shown: number;
  merged: number;
  dropped: number;
}

/**
 * Flying comments over the video area. Smooth at hundreds of comments per second because the
 * work per comment is bounded: comments fly in lanes that never overlap (LaneScheduler), wait in
 * a capped queue that merges duplicates and drops the oldest when overloaded (BulletQueue), move
 * by compositor-only transform animations (Web Animations API), and reuse pooled elements; the
 * widths of a frame's new comments are read in one layout pass.
 */
export class DanmakuStage {
  readonly root: HTMLElement;
  readonly #queue = new BulletQueue(QUEUE_CAPACITY);
  readonly #lanes = new LaneScheduler(0, 0.15);
  readonly #pool: HTMLElement[] = [];
  readonly #observer: ResizeObserver;
  #width = 0;
  #active = 0;
  #shown = 0;
  #frame: number | undefined;
  #enabled = true;

  constructor() {
    this.root = h('div', {
      className: 'danmaku',
      attrs: { 'aria-hidden': 'true' },
      data: { testid: 'danmaku' },
    });
    this.#observer = new ResizeObserver(() => this.#measure());
    this.#observer.observe(this.root);
    this.#publishStats();
  }

  get stats(): DanmakuStats {
    return {
      active: this.#active,
      shown: this.#shown,
      merged: this.#queue.merged,
      dropped: this.#queue.dropped,
    };
  }

  /** Queues a comment to fly; the viewer's own comments jump the queue. */
  add(text: string, own = false): void {
    if (!this.#enabled) return;
    const line = text.replace(/\s+/g, ' ').trim();
    if (line === '') return;
    this.#queue.push(line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS - 1)}…` : line, own);
    this.#schedule();
  }

  /** Shows or hides flying comments (hiding drops what waits and lands what flies). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    this.root.hidden = !enabled;
    if (enabled) return;
    this.#queue.clear();
    for (const animation of this.root.getAnimations({ subtree: true })) animation.cancel();
  }

  dispose(): void {
    this.#observer.disconnect();
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    for (const animation of this.root.getAnimations({ subtree: true })) animation.cancel();
  }

  #measure(): void {
    const { width, height } = this.root.getBoundingClientRect();
    this.#width = width;
    const lanes = Math.floor((height * LANE_AREA - TOP_PADDING_PX) / LANE_HEIGHT_PX);
    this.#lanes.setLanes(Math.max(1, Math.min(MAX_LANES, lanes)));
    this.#lanes.speedPxPerMs = Math.max(0.05, width / CROSSING_MS);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#frame === undefined && this.#queue.size > 0) {
      this.#frame = requestAnimationFrame(() => this.#tick());
    }
  }

  #tick(): void {
    this.#frame = undefined;
    if (this.#width === 0) this.#measure();
    const now = performance.now();
    const room = Math.min(this.#lanes.freeCount(now), MAX_ACTIVE - this.#active, this.#queue.size);
    const batch: HTMLElement[] = [];
    for (let i = 0; i < room; i++) {
      const item = this.#queue.shift();
      if (item === undefined) break;
      batch.push(this.#element(item));
    }
    // All writes first, then all reads: one layout for the whole batch.
    const widths = batch.map((el) => el.offsetWidth);
    batch.forEach((el, i) => {
      const width = widths[i] ?? 0;
      const lane = this.#lanes.take(width, now);
      if (lane === -1) this.#release(el);
      else this.#fly(el, lane, width);
    });
    this.#publishStats();
    if (this.#queue.size > 0) this.#schedule();
  }

  #element(item: QueuedBullet): HTMLElement {
    const el = this.#pool.pop() ?? h('span', { className: 'bullet' });
    el.textContent = item.count > 1 ? `${item.text} ×${item.count}` : item.text;
    el.classList.toggle('own', item.own);
    el.style.transform = `translate3d(${this.#width}px,0,0)`;
    this.root.appendChild(el);
    return el;
  }

  #fly(el: HTMLElement, lane: number, width: number): void {
    el.style.top = `${TOP_PADDING_PX + lane * LANE_HEIGHT_PX}px`;
    const duration = (this.#width + width) / this.#lanes.speedPxPerMs;
    const animation = el.animate(
      [{ transform: `translate3d(${this.#width}px,0,0)` }, { transform: `translate3d(${-width}px,0,0)` }],
      { duration, easing: 'linear' },
    );
    this.#active++;
    this.#shown++;
    const done = () => {
      this.#active--;
      this.#release(el);
      this.#publishStats();
      this.#schedule();
    };
    animation.onfinish = done;
    animation.oncancel = done;
  }

  #release(el: HTMLElement): void {
    el.remove();
    if (this.#pool.length < POOL_SIZE) this.#pool.push(el);
  }

  #publishStats(): void {
    const { dataset } = this.root;
    dataset.active = String(this.#active);
    dataset.shown = String(this.#shown);
    dataset.merged = String(this.#queue.merged);
    dataset.dropped = String(this.#queue.dropped);
  }
}
