import { dropFeedSlots, type FeedShard, listFeedSlots } from '../adapters/sql/postgres-room-change-feed.ts';
import { shardSchemaOf } from '../adapters/sql/room-repositories.ts';
import { ConfigError, loadConfig } from '../config/load-config.ts';

export const FEED_SLOTS_HELP = `Usage: roomcast feed-slots [--drop CONSUMER] [settings…]

Lists the rooms change feed's replication slots on every region shard (--rooms.shards): each
consumer's slot, whether it is being read, and how much WAL it keeps (its lag). A slot whose
consumer is gone keeps WAL until max_slot_wal_keep_size; --drop CONSUMER drops that consumer's
slots (PostgreSQL refuses while it still reads them). See docs/operations.md.`;

/** `roomcast feed-slots …`: returns the exit code. */
export async function runFeedSlotsCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(FEED_SLOTS_HELP);
    return 0;
  }
  const at = argv.indexOf('--drop');
  const drop = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && (drop === undefined || !/^[a-z0-9_]{1,32}$/.test(drop))) {
    console.error('roomcast feed-slots: --drop takes a consumer name (1–32 of [a-z0-9_])');
    return 2;
  }
  const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  let shards: Map<string, FeedShard>;
  try {
    const config = loadConfig({ argv: rest, env });
    shards = new Map(
      Object.entries(config.rooms.shards).map(([region, url]) => [
        region,
        { url, schema: shardSchemaOf(region) },
      ]),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`roomcast feed-slots: ${err.message}`);
    return 2;
  }
  if (shards.size === 0) {
    console.error('roomcast feed-slots: no --rooms.shards configured (the embedded rooms have no slots)');
    return 2;
  }
  try {
    if (drop !== undefined) {
      const dropped = await dropFeedSlots(shards, drop);
      console.log(dropped.length === 0 ? `no slots of ${drop}` : `dropped ${dropped.join(', ')}`);
      return 0;
    }
    const slots = await listFeedSlots(shards);
    if (slots.length === 0) console.log('no feed slots');
    for (const s of slots) {
      console.log(
        `${s.region.padEnd(6)} ${s.slot.padEnd(40)} ${s.active ? 'active  ' : 'inactive'} lag ${s.lagBytes} bytes  wal ${s.walStatus}`,
      );
    }
    return 0;
  } catch (err) {
    console.error(`roomcast feed-slots: ${(err as Error).message}`);
    return 1;
  }
}
