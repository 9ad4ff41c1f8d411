/** A child `h()` accepts: nodes, text, or nothing (skipped, for conditional children). */
export type Child = Node | string | number | null | undefined | false;

/** Properties of an element `h()` may set, plus `data-*` attributes and plain attributes. */
export type ElementProps<K extends keyof HTMLElementTagNameMap> = Partial<
  Omit<HTMLElementTagNameMap[K], 'style' | 'dataset' | 'children' | 'attributes' | 'classList'>
> & {
  /** `data-*` attributes, e.g. `{ testid: 'comment' }` sets `data-testid`. */
  data?: Record<string, string>;
  /** Plain attributes (ARIA, `for` …). */
  attrs?: Record<string, string>;
};

/**
 * Creates an element with properties and children: the whole UI is built from it, without a
 * framework. Text children become text nodes, so user content is never parsed as HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps<K> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const { data, attrs, ...rest } = props;
  Object.assign(el, rest);
  if (data !== undefined) for (const [key, value] of Object.entries(data)) el.dataset[key] = value;
  if (attrs !== undefined) for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  append(el, children);
  return el;
}

/** Appends children, skipping empty ones. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? text(String(child)) : child);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

function text(value: string): Text {
  return document.createTextNode(value);
}

/** Something with a root element and a way to let go of its timers and listeners. */
export interface View {
  readonly root: HTMLElement;
  dispose(): void;
}
