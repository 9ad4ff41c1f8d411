import { describe, expect, it } from 'vitest';
import {
  connectionLabel,
  connectionShortLabel,
  initialConnectionView,
  nextConnectionView,
} from '../src/room/connection-state.ts';

describe('connection view', () => {
  it('follows connect, loss, backoff and reconnect', () => {
    let view = initialConnectionView('auto');
    expect(connectionLabel(view, 0)).toBe('Connecting…');
    view = nextConnectionView(view, { type: 'connected', transport: 'ws' }, 0);
    expect(connectionLabel(view, 0)).toBe('Live · WebSocket');
    view = nextConnectionView(view, { type: 'disconnected', code: 1006, reason: '', willReconnect: true }, 0);
    expect(view).toMatchObject({ phase: 'reconnecting', reconnects: 1, detail: 'closed (1006)' });
    view = nextConnectionView(
      view,
      { type: 'reconnecting', attempt: 2, delayMs: 2500, reason: 'backoff' },
      1000,
    );
    expect(connectionLabel(view, 1000)).toBe('Reconnecting in 3 s');
    expect(connectionShortLabel(view, 1000)).toBe('Retry 3 s');
    view = nextConnectionView(view, { type: 'connecting', transport: 'ws', attempt: 2 }, 3500);
    expect(view.phase).toBe('reconnecting');
    view = nextConnectionView(view, { type: 'connected', transport: 'pull' }, 4000);
    expect(connectionLabel(view, 4000)).toBe('Live · HTTP pull (fallback)');
    expect(view.reconnects).toBe(1);
  });

  it('forced pull is not called a fallback', () => {
    const view = nextConnectionView(
      initialConnectionView('pull'),
      { type: 'connected', transport: 'pull' },
      0,
    );
    expect(connectionLabel(view, 0)).toBe('Live · HTTP pull');
    expect(connectionShortLabel(view, 0)).toBe('Polling');
  });

  it('a server-requested move keeps the page live until the old connection closes', () => {
    let view = nextConnectionView(initialConnectionView('auto'), { type: 'connected', transport: 'ws' }, 0);
    view = nextConnectionView(view, { type: 'reconnecting', attempt: 0, delayMs: 300, reason: 'server' }, 0);
    expect(view.phase).toBe('live');
  });

  it('stops when the client gives up', () => {
    let view = nextConnectionView(initialConnectionView('auto'), { type: 'connected', transport: 'ws' }, 0);
    view = nextConnectionView(
      view,
      { type: 'disconnected', code: 4001, reason: 'expired', willReconnect: false },
      0,
    );
    view = nextConnectionView(view, { type: 'stopped', message: 'the server rejected the token' }, 0);
    expect(view).toMatchObject({ phase: 'stopped', detail: 'the server rejected the token' });
    expect(connectionLabel(view, 0)).toBe('Disconnected');
  });
});
