import type { JsonValue, PartialState } from '@roomcast/protocol';

/** One partial as the client knows it: its version and value. */
export interface PartialValue {
  readonly v: number;
  readonly value: JsonValue;
}

/** A read-only view of a room's state as the client knows it. */
export interface ReadonlyStateView {
  /** The room's total state version (the sum of all changes) the view has caught up with. */
  readonly total: number;
  /** Each known partial by name. */
  readonly partials: ReadonlyMap<string, PartialValue>;
  /** The value of one partial, or undefined when unknown. */
  get(name: string): JsonValue | undefined;
}

/** One partial of the local view changed. */
export interface StateChange {
  /** The partial's name. */
  name: string;
  /** The new value; undefined when a fresh snapshot no longer has the partial. */
  value: JsonValue | undefined;
  /** The partial's new version. */
  version: number;
  /** The view's total version after the change. */
  total: number;
}

/** State in a notice or snapshot: partials with a version, the value absent when large. */
export interface StateNotice {
  total: number;
  partials: Readonly<Record<string, PartialState>>;
}

/**
 * The local state-sync view of one room. Convergence rules:
 * - a notice (`ss` frame, HTTP `have` answer) changes a partial only when its version is newer
 *   than the local one, so duplicated and reordered notices are harmless;
 * - a notice without a value marks the partial as wanted at that version (see `wanted`), to be
 *   fetched over HTTP; the stale value stays visible until then;
 * - a snapshot (join, reset) replaces the view: it is the server's truth at one moment, even when
 *   versions went down (the state store was lost).
 */
export class StateView implements ReadonlyStateView {
  #total = 0;
  readonly #partials = new Map<string, PartialValue>();
  /** Partials announced at a newer version without a value: name → that version. */
  readonly #wanted = new Map<string, number>();

  get total(): number {
    return this.#total;
  }

  get partials(): ReadonlyMap<string, PartialValue> {
    return this.#partials;
  }

  get(name: string): JsonValue | undefined {
    return this.#partials.get(name)?.value;
  }

  /** The local version of every known partial, for `have=` and version comparisons. */
  versions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, p] of this.#partials) out[name] = p.v;
    return out;
  }

  /** Partials whose newer value must be fetched over HTTP: name → announced version. */
  get wanted(): ReadonlyMap<string, number> {
    return this.#wanted;
  }

  /** Applies a notice under the newer-version rule and returns what changed. */
  apply(notice: StateNotice): StateChange[] {
    const changes: StateChange[] = [];
    for (const [name, partial] of Object.entries(notice.partials)) {
      const local = this.#partials.get(name);
      if (local !== undefined && partial.v <= local.v) continue;
      if (partial.value === undefined) {
        if ((this.#wanted.get(name) ?? -1) < partial.v) this.#wanted.set(name, partial.v);
        continue;
      }
      this.#partials.set(name, { v: partial.v, value: partial.value });
      if ((this.#wanted.get(name) ?? Number.POSITIVE_INFINITY) <= partial.v) this.#wanted.delete(name);
      changes.push({ name, value: partial.value, version: partial.v, total: 0 });
    }
    this.#total = Math.max(this.#total, notice.total);
    return this.#stamp(changes);
  }

  /** Replaces the view with a snapshot and returns what changed. */
  replace(snapshot: StateNotice): StateChange[] {
    const changes: StateChange[] = [];
    this.#wanted.clear();
    for (const [name, local] of [...this.#partials]) {
      if (snapshot.partials[name] !== undefined) continue;
      this.#partials.delete(name);
      changes.push({ name, value: undefined, version: local.v, total: 0 });
    }
    for (const [name, partial] of Object.entries(snapshot.partials)) {
      const local = this.#partials.get(name);
      if (partial.value === undefined) {
        if (local?.v !== partial.v) this.#wanted.set(name, partial.v);
        continue;
      }
      this.#partials.set(name, { v: partial.v, value: partial.value });
      // Equal versions usually mean an equal value, but not after the state store was lost.
      if (local !== undefined && local.v === partial.v && sameJson(local.value, partial.value)) continue;
      changes.push({ name, value: partial.value, version: partial.v, total: 0 });
    }
    this.#total = snapshot.total;
    return this.#stamp(changes);
  }

  /** Forgets everything (the subscription ended). */
  clear(): void {
    this.#partials.clear();
    this.#wanted.clear();
    this.#total = 0;
  }

  #stamp(changes: StateChange[]): StateChange[] {
    for (const c of changes) c.total = this.#total;
    return changes;
  }
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
