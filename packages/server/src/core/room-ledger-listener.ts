import type { Room } from '@roomcast/protocol';
import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { Ledger } from './ports/ledger.ts';
import type { RoomEndListener, RoomStartListener } from './room-service.ts';

/**
 * Keeps the ledger in step with room lifecycles: a started room gets its accounts in every balance
 * shard, an ended room's accounts close (so gifts after the end are refused) and its settlement
 * is marked due.
 *
 * Both are best effort and never fail the room call: a start that did not reach a shard is made
 * up by the first gift there (it opens the account), and an end that did not reach the ledger is
 * found by the settler's reconciliation with the rooms store, which closes and settles the room.
 */
export class RoomLedgerListener implements RoomStartListener, RoomEndListener {
  constructor(
    private readonly ledger: Pick<Ledger, 'openRoom' | 'closeRoom'>,
    private readonly deps: { logger?: Logger; metrics?: RoomcastMetrics },
  ) {}

  async roomStarted(room: Room): Promise<void> {
    try {
      await this.ledger.openRoom({ id: room.id, hostId: room.hostId });
    } catch (err) {
      this.deps.metrics?.ledgerListenerFailures.inc({ event: 'start' });
      this.deps.logger?.warn(
        { err, room: room.id },
        'room accounts not opened; the first gift in a shard opens its own',
      );
    }
  }

  async roomEnded(room: Room): Promise<void> {
    try {
      await this.ledger.closeRoom({ id: room.id, hostId: room.hostId });
    } catch (err) {
      this.deps.metrics?.ledgerListenerFailures.inc({ event: 'end' });
      this.deps.logger?.warn({ err, room: room.id }, 'room accounts not closed; the settler will close them');
    }
  }
}
