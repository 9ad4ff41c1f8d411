import type { JsonValue, StateSnapshot, StateVersions } from '@roomcast/protocol';

export interface StateChange {
  total: number;
  v: number;
}

/**
 * RoomStateStore: each room's state-sync hash — a total version, one version per named partial,
 * and the partials' values.
 *
 * Guarantees (room state contract suite):
 * - `set` is atomic: it stores the value and raises the partial's version and the total version by
 *   exactly one, so after n concurrent sets of a room the total has grown by n.
 * - A set that would create a partial beyond `maxPartials` stores nothing and returns null;
 *   updating an existing partial is always allowed.
 * - Values round-trip as JSON.
 * - An unknown room reads as `{ total: 0, partials: {} }`.
 */
export interface RoomStateStore {
  set(room: string, name: string, value: JsonValue, maxPartials: number): Promise<StateChange | null>;
  snapshot(room: string): Promise<StateSnapshot>;
  versions(room: string): Promise<StateVersions>;
}
