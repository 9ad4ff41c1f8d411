import type { Logger } from 'pino';
import { openPostgresLedger } from '../adapters/sql/ledger/ledger-stores.ts';
import { createPostgresRoomRepository } from '../adapters/sql/room-repositories.ts';
import { buildHttpServer, listen } from '../api/http-server.ts';
import { registerOpsEndpoints } from '../api/routes/ops-routes.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { JobMembership } from '../core/ports/worker-membership.ts';
import type { SettlementPickup } from '../core/settlement-pickup.ts';
import { Settler } from '../core/settler.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { createSettlementPickup, openJobMembership, openOngoingRooms } from './job-wiring.ts';

/** A running `roomcast settler`. */
export interface RunningSettler {
  settler: Settler;
  /** http://host:port of its ops endpoints (`/healthz`, `/readyz`, `/metrics`). */
  url: string;
  port: number;
  /** Stops after the run in progress, then the ops server, then closes the database pools. */
  close(): Promise<void>;
}

/** Thrown when the settler's configuration lacks the databases it needs. */
export class SettlerConfigError extends Error {
  override readonly name = 'SettlerConfigError';
}

/**
 * `roomcast settler`: settles ended rooms' accounts into their hosts' balances, on a timer, until
 * stopped. Needs the PostgreSQL balance shards (`ledger.shards`) and the rooms store
 * (`rooms.shards`, `rooms.archive`), which it asks whether rooms the ledger still has open have
 * ended. Stateless: run several for availability (they share the work, never pay twice) and kill
 * any of them at any point; a restarted one finishes what the killed one left.
 *
 * With `ongoing.urls` it also runs the settlement pick-up: it registers in the `settlement` job
 * membership (`coordination.engine`) and settles its share of the rooms OngoingQuery saw end, at
 * once. Without, it warns and settles through its claims and reconciliation alone.
 *
 * Serves `/healthz`, `/readyz` (pings the ledger and the rooms store) and `/metrics` on
 * `host:port`, like every role, so it can be probed and scraped.
 */
export async function startSettler(config: RoomcastConfig, logger: Logger): Promise<RunningSettler> {
  if (config.ledger.shards.length === 0) {
    throw new SettlerConfigError('roomcast settler needs ledger.shards (ROOMCAST_LEDGER_SHARDS)');
  }
  if (Object.keys(config.rooms.shards).length === 0) {
    throw new SettlerConfigError(
      'roomcast settler needs rooms.shards and rooms.archive (ROOMCAST_ROOMS_SHARDS, ROOMCAST_ROOMS_ARCHIVE)',
    );
  }
  const onPoolError = (err: Error, url: string) =>
    logger.warn({ err, url }, 'idle PostgreSQL connection lost');
  const ledger = await openPostgresLedger(config, { onPoolError, applicationName: 'roomcast-settler' });
  let rooms: Awaited<ReturnType<typeof createPostgresRoomRepository>>;
  try {
    rooms = await createPostgresRoomRepository(config.rooms, config.regions, { onPoolError });
  } catch (err) {
    await ledger.close();
    throw err;
  }
  const metrics = new RoomcastMetrics();
  const app = buildHttpServer({ config, metrics, logger });
  registerOpsEndpoints(app, {
    metrics,
    checks: () => [
      { name: 'ledger', ping: () => ledger.ledger.ping() },
      { name: 'rooms', ping: () => rooms.ping() },
    ],
  });
  let address: { port: number; url: string };
  try {
    address = await listen(app, config);
  } catch (err) {
    await app.close();
    await ledger.close();
    await rooms.close();
    throw err;
  }
  const settler = new Settler({
    store: ledger.settlements,
    ledger: ledger.ledger,
    rooms,
    ...config.settler,
    logger,
    metrics,
  });
  let membership: JobMembership | undefined;
  let pickup: SettlementPickup | undefined;
  try {
    if (config.ongoing.urls.length > 0) {
      const ongoing = openOngoingRooms(config, 'settler');
      membership = await openJobMembership(config, logger, 'settler');
      pickup = await createSettlementPickup({
        config,
        ledger: ledger.ledger,
        membership,
        ongoing,
        logger,
        metrics,
      });
    } else {
      logger.warn(
        'ongoing.urls is not set: the settlement pick-up is off; ended rooms are settled by claims and reconciliation only',
      );
    }
  } catch (err) {
    await membership?.close().catch(() => undefined);
    await app.close();
    await ledger.close();
    await rooms.close();
    throw err;
  }
  settler.start();
  pickup?.start();
  // Right away too: a restarted settler should not wait an interval to finish a killed one's work.
  void settler.tick();
  let closing: Promise<void> | undefined;
  return {
    settler,
    ...address,
    close: () => {
      closing ??= (async () => {
        await settler.stop();
        await pickup?.stop();
        await membership?.close();
        await app.close();
        await ledger.close();
        await rooms.close();
      })();
      return closing;
    },
  };
}
