/**
 * One worker process running a sharded room job, for the tests that kill workers: joins `JOB` in
 * the ZooKeeper at `ZK_CONNECT` (under `ZK_PREFIX`, session timeout `ZK_SESSION_MS`) and runs a
 * PartitionedRoomJob over the rooms named in `ROOMS` (comma-separated), split as OngoingQuery
 * splits them. Driven over stdin, one command per line, one answer line each:
 *
 *   view  →  view <index>/<count>   (or `view none`)
 *   tick  →  round <outcome> <index>/<count> <room,room,…>   (the rooms this round processed)
 *
 *   node --import tsx packages/server/test/helpers/room-job-child.ts
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import { ZookeeperMembership } from '../../src/adapters/zookeeper/zookeeper-membership.ts';
import { PartitionedRoomJob } from '../../src/core/partitioned-room-job.ts';
import { fixedOngoingRooms } from './fixed-ongoing-rooms.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
}

const rooms = required('ROOMS').split(',');
const ongoing = fixedOngoingRooms(() => rooms);
const membership = await ZookeeperMembership.open({
  connect: required('ZK_CONNECT'),
  pathPrefix: required('ZK_PREFIX'),
  sessionTimeoutMs: Number(required('ZK_SESSION_MS')),
  connectTimeoutMs: 30_000,
});
const handle = await membership.join(required('JOB'));
let processed: string[] = [];
let asked = 'none';
const job = new PartitionedRoomJob({
  name: required('JOB'),
  membership: handle,
  ongoing,
  intervalMs: 3_600_000,
  logger: pino({ level: 'silent' }),
  run: async ({ view, share }) => {
    asked = `${view.index}/${view.count}`;
    processed = share.live.map((room) => room.id);
  },
});
const show = () => {
  const view = handle.view();
  return view === undefined ? 'none' : `${view.index}/${view.count}`;
};
process.stdout.write('joined\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'view') process.stdout.write(`view ${show()}\n`);
  else if (line === 'tick') {
    processed = [];
    asked = 'none';
    void job.tick().then((outcome) => {
      process.stdout.write(`round ${outcome ?? 'busy'} ${asked} ${processed.join(',')}\n`);
    });
  }
});
