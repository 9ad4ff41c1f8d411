import type { ClientEvents, TransportKind, TransportMode } from '@roomcast/client';

/** What the page shows about its connection. */
export interface ConnectionView {
  phase: 'connecting' | 'live' | 'reconnecting' | 'stopped';
  /** The transport in use while live. */
  transport: TransportKind | null;
  /** What the user asked for: `auto` (WebSocket, pull as a fallback) or `pull`. */
  mode: TransportMode;
  /** Attempts since the last healthy connection. */
  attempt: number;
  /** While reconnecting: when the next attempt starts, ms since the epoch. */
  retryAt: number | null;
  /** Why the connection is down or stopped (close reason, error message). */
  detail: string;
  /** Connections lost since the page joined: each one was resumed from the cursor. */
  reconnects: number;
}

/** One client event, as the page tracks them. */
export type ConnectionSignal =
  | ({ type: 'connecting' } & ClientEvents['connecting'])
  | ({ type: 'connected' } & ClientEvents['connected'])
  | ({ type: 'disconnected' } & ClientEvents['disconnected'])
  | ({ type: 'reconnecting' } & ClientEvents['reconnecting'])
  | { type: 'stopped'; message: string };

export function initialConnectionView(mode: TransportMode): ConnectionView {
  return { phase: 'connecting', transport: null, mode, attempt: 0, retryAt: null, detail: '', reconnects: 0 };
}

/** The view after one signal (pure, so the badge and the tests agree on what it shows). */
export function nextConnectionView(
  view: ConnectionView,
  signal: ConnectionSignal,
  now: number,
): ConnectionView {
  switch (signal.type) {
    case 'connecting':
      return {
        ...view,
        phase: view.phase === 'live' ? 'reconnecting' : view.phase,
        attempt: signal.attempt,
        retryAt: null,
      };
    case 'connected':
      return { ...view, phase: 'live', transport: signal.transport, attempt: 0, retryAt: null, detail: '' };
    case 'disconnected':
      return {
        ...view,
        phase: signal.willReconnect ? 'reconnecting' : 'stopped',
        transport: null,
        reconnects: view.phase === 'live' ? view.reconnects + 1 : view.reconnects,
        detail: signal.reason === '' ? `closed (${signal.code})` : signal.reason,
      };
    case 'reconnecting':
      return {
        ...view,
        phase: view.phase === 'stopped' ? 'stopped' : view.phase === 'live' ? 'live' : 'reconnecting',
        attempt: signal.attempt,
        retryAt: now + signal.delayMs,
      };
    case 'stopped':
      return { ...view, phase: 'stopped', transport: null, retryAt: null, detail: signal.message };
    default:
      signal satisfies never;
      return view;
  }
}

/** A short label for the badge: `Live · WebSocket`, `Reconnecting in 3 s` … */
export function connectionLabel(view: ConnectionView, now: number): string {
  switch (view.phase) {
    case 'connecting':
      return view.attempt > 0 ? `Connecting (attempt ${view.attempt + 1})…` : 'Connecting…';
    case 'live': {
      const transport = view.transport === 'ws' ? 'WebSocket' : 'HTTP pull';
      const fallback = view.transport === 'pull' && view.mode === 'auto' ? ' (fallback)' : '';
      return `Live · ${transport}${fallback}`;
    }
    case 'reconnecting': {
      if (view.retryAt === null || view.retryAt <= now) return 'Reconnecting…';
      return `Reconnecting in ${Math.ceil((view.retryAt - now) / 1000)} s`;
    }
    case 'stopped':
      return 'Disconnected';
    default:
      view.phase satisfies never;
      return '';
  }
}

/** The badge's label on a phone: `Live`, `Polling`, `Retry 3 s`, `…`, `Off`. */
export function connectionShortLabel(view: ConnectionView, now: number): string {
  switch (view.phase) {
    case 'connecting':
      return '…';
    case 'live':
      return view.transport === 'ws' ? 'Live' : 'Polling';
    case 'reconnecting':
      return view.retryAt === null || view.retryAt <= now
        ? 'Retry…'
        : `Retry ${Math.ceil((view.retryAt - now) / 1000)} s`;
    case 'stopped':
      return 'Off';
    default:
      view.phase satisfies never;
      return '';
  }
}
