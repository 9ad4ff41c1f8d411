import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadNodeWebSocket, runsOnNode } from '../src/node-websocket.ts';

describe('WebSocket discovery on Node', () => {
  it('knows it runs on Node', () => {
    expect(runsOnNode()).toBe(true);
  });

  it('finds the ws package when it is installed beside the SDK', async () => {
    expect(await loadNodeWebSocket()).toBe(WebSocket);
  });
});
