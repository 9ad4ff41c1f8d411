import { describe, expect, it } from 'vitest';
import { MemoryGatewayDirectory } from '../src/adapters/memory/memory-gateway-directory.ts';
import { clusterGatewayStats, gatewayHttpBase } from '../src/api/cluster-gateway-stats.ts';

const figures = {
  connections: 3,
  roomChannels: 2,
  sendQueueBytes: 10,
  sendQueueSoftBytes: 100,
  draining: false,
};

describe("a cluster API node's list of gateways", () => {
  it('reads each gateway at the HTTP base of its announced WebSocket URL', () => {
    expect(gatewayHttpBase('ws://127.0.0.1:8200/v1/ws')).toBe('http://127.0.0.1:8200');
    expect(gatewayHttpBase('wss://gw.example.com/edge/v1/ws')).toBe('https://gw.example.com/edge');
    expect(gatewayHttpBase('http://not-a-ws/')).toBeUndefined();
    expect(gatewayHttpBase('::nonsense')).toBeUndefined();
  });

  it('forwards the bearer, takes each gateway’s own entry, and marks failures unreachable', async () => {
    const directory = new MemoryGatewayDirectory();
    await directory.announce({ id: 'gw1', group: 'a', url: 'ws://h1/v1/ws' }, 60_000);
    await directory.announce({ id: 'gw2', group: 'b', url: 'ws://h2/v1/ws' }, 60_000);
    await directory.announce({ id: 'gw3', group: 'b', url: 'ws://h3/v1/ws' }, 60_000);
    const seen: string[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      seen.push(`${url} ${new Headers(init?.headers).get('authorization')}`);
      if (url.startsWith('http://h1')) return Response.json({ gateways: [{ id: 'gw1', ...figures }] });
      if (url.startsWith('http://h2'))
        return Response.json({ gateways: [{ id: 'gw2', connections: 'many' }] });
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const stats = await clusterGatewayStats(directory, 'Bearer t', fake);
    expect(seen.sort()).toEqual([
      'http://h1/v1/admin/stats Bearer t',
      'http://h2/v1/admin/stats Bearer t',
      'http://h3/v1/admin/stats Bearer t',
    ]);
    expect(stats).toEqual([
      { id: 'gw1', group: 'a', ...figures },
      {
        id: 'gw2',
        group: 'b',
        connections: 0,
        roomChannels: 0,
        sendQueueBytes: 0,
        sendQueueSoftBytes: 0,
        draining: false,
        unreachable: true,
      },
      {
        id: 'gw3',
        group: 'b',
        connections: 0,
        roomChannels: 0,
        sendQueueBytes: 0,
        sendQueueSoftBytes: 0,
        draining: false,
        unreachable: true,
      },
    ]);
  });
});
