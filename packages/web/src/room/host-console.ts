import { h } from '../shared/dom.ts';
import type { RoomPartialName } from './state-values.ts';

export interface HostConsoleOptions {
  /** Saves one partial (`PUT /v1/rooms/:room/state/:name`). */
  save(name: RoomPartialName, value: string): Promise<void>;
  /** Ends the room. */
  end(): Promise<void>;
  describeError(error: unknown): string;
}

const FIELDS: ReadonlyArray<{ name: RoomPartialName; label: string; placeholder: string; max: number }> = [
  { name: 'title', label: 'Title', placeholder: 'What is on?', max: 200 },
  { name: 'pinned', label: 'Pinned message', placeholder: 'Shown above the comments', max: 500 },
  { name: 'announcement', label: 'Announcement', placeholder: 'A banner over the video', max: 500 },
];

/**
 * The host's controls: edit the title, pinned message and announcement (state sync: every viewer
 * converges on them), and end the room (two clicks). Moderation is on each comment's author.
 */
export class HostConsole {
  readonly root: HTMLElement;
  readonly #inputs = new Map<RoomPartialName, HTMLInputElement>();
  readonly #status: HTMLElement;
  readonly #end: HTMLButtonElement;
  #armed: ReturnType<typeof setTimeout> | undefined;
  #ended = false;

  constructor(private readonly options: HostConsoleOptions) {
    this.#status = h('p', {
      className: 'console-status',
      attrs: { role: 'status' },
      data: { testid: 'console-status' },
    });
    const forms = FIELDS.map((field) => {
      const input = h('input', {
        name: field.name,
        placeholder: field.placeholder,
        maxLength: field.max,
        autocomplete: 'off',
        data: { testid: `console-${field.name}` },
      });
      this.#inputs.set(field.name, input);
      const form = h(
        'form',
        { className: 'console-field' },
        h('label', {}, field.label, input),
        h('button', { type: 'submit', textContent: 'Save', data: { testid: `console-save-${field.name}` } }),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void this.#save(field.name, input);
      });
      return form;
    });
    const end = h('button', {
      type: 'button',
      className: 'danger',
      textContent: 'End room',
      data: { testid: 'end-room' },
    });
    this.#end = end;
    end.addEventListener('click', () => {
      if (this.#ended) return;
      if (this.#armed === undefined) {
        end.textContent = 'Click again to end';
        this.#armed = setTimeout(() => {
          this.#armed = undefined;
          end.textContent = 'End room';
        }, 4000);
        return;
      }
      this.#disarm();
      end.disabled = true;
      end.textContent = 'Ending…';
      this.options.end().then(
        () => this.ended(),
        (error: unknown) => {
          if (this.#ended) return;
          end.disabled = false;
          end.textContent = 'End room';
          this.#status.textContent = this.options.describeError(error);
        },
      );
    });
    this.root = h(
      'section',
      { className: 'card host-console', data: { testid: 'host-console' } },
      h('h2', { textContent: 'Host console' }),
      ...forms,
      h('div', { className: 'console-footer' }, this.#status, end),
      h('p', {
        className: 'muted small',
        textContent: 'Click a viewer’s name in the comments to whisper, mute, kick or ban.',
      }),
    );
  }

  /** The room ended (here or elsewhere): nothing is left to edit or end. */
  ended(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#disarm();
    this.#end.disabled = true;
    this.#end.textContent = 'Ended';
    for (const control of Array.from(this.root.querySelectorAll('input, button'))) {
      (control as HTMLInputElement | HTMLButtonElement).disabled = true;
    }
  }

  dispose(): void {
    this.#disarm();
  }

  #disarm(): void {
    clearTimeout(this.#armed);
    this.#armed = undefined;
  }

  /** Shows the room's current value, unless the host is editing that field. */
  update(name: RoomPartialName, value: string): void {
    const input = this.#inputs.get(name);
    if (input !== undefined && document.activeElement !== input) input.value = value;
  }

  async #save(name: RoomPartialName, input: HTMLInputElement): Promise<void> {
    this.#status.textContent = 'Saving…';
    try {
      await this.options.save(name, input.value.trim());
      this.#status.textContent = 'Saved.';
    } catch (error) {
      this.#status.textContent = this.options.describeError(error);
    }
  }
}
