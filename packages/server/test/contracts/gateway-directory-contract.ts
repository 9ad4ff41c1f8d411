import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayDirectory, GatewayRecord } from '../../src/core/ports/gateway-directory.ts';
import { afterRefresh } from './ttl-refresh.ts';

export interface GatewayDirectoryFixture {
  directory: GatewayDirectory;
  close(): Promise<void>;
}

/** Long enough never to lapse during a test. */
const LONG_TTL_MS = 600_000;
const SHORT_TTL_MS = 150;
const PAST_SHORT_TTL_MS = SHORT_TTL_MS + 100;
/** For the refresh test (see `afterRefresh`). */
const REFRESH_TTL_MS = 400;

function gateway(group = 'g1'): GatewayRecord {
  const id = `contract-gw-${randomUUID()}`;
  return { id, group, url: `ws://127.0.0.1:1/${id}/v1/ws` };
}

/**
 * The GatewayDirectory contract (core/ports/gateway-directory.ts). `make` is called once; the
 * directory is shared by every test, so each test looks only at the gateways it announced.
 */
export function describeGatewayDirectoryContract(
  adapterName: string,
  make: () => Promise<GatewayDirectoryFixture>,
): void {
  describe(`GatewayDirectory contract (${adapterName})`, () => {
    let fixture: GatewayDirectoryFixture | undefined;
    const directory = (): GatewayDirectory => {
      if (fixture === undefined) throw new Error('the gateway directory factory failed');
      return fixture.directory;
    };
    const listed = async (...ids: string[]): Promise<GatewayRecord[]> =>
      (await directory().list()).filter((record) => ids.includes(record.id));

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('lists announced gateways with their group and URL, sorted by ID', async () => {
      const [a, b] = [gateway('east'), gateway('west')];
      await directory().announce(b, LONG_TTL_MS);
      await directory().announce(a, LONG_TTL_MS);
      const expected = [a, b].sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(await listed(a.id, b.id)).toEqual(expected);
    });

    it('replaces the group and URL of a gateway announced again, listing it once', async () => {
      const first = gateway('east');
      await directory().announce(first, LONG_TTL_MS);
      const moved = { ...first, group: 'west', url: 'wss://gw.example.com/v1/ws' };
      await directory().announce(moved, LONG_TTL_MS);
      expect(await listed(first.id)).toEqual([moved]);
    });

    it('forgets a withdrawn gateway at once, and withdrawing an unknown one is no error', async () => {
      const [kept, gone] = [gateway(), gateway()];
      await directory().announce(kept, LONG_TTL_MS);
      await directory().announce(gone, LONG_TTL_MS);
      await directory().withdraw(gone.id);
      await directory().withdraw(`never-announced-${randomUUID()}`);
      expect(await listed(kept.id, gone.id)).toEqual([kept]);
    });

    it('drops a gateway that was not announced again within its TTL', async () => {
      const [lapsing, alive] = [gateway(), gateway()];
      await directory().announce(lapsing, SHORT_TTL_MS);
      await directory().announce(alive, LONG_TTL_MS);
      await sleep(PAST_SHORT_TTL_MS);
      expect(await listed(lapsing.id, alive.id)).toEqual([alive]);
    });

    it('keeps a gateway that announces again before its TTL lapses', async () => {
      const run = await afterRefresh(REFRESH_TTL_MS, () => {
        const refreshed = gateway();
        return {
          write: () => directory().announce(refreshed, REFRESH_TTL_MS),
          refresh: () => directory().announce(refreshed, REFRESH_TTL_MS),
          check: async () => ({ refreshed, listed: await listed(refreshed.id) }),
        };
      });
      expect(run.listed).toEqual([run.refreshed]);
    });
  });
}
