/**
 * One worker process's membership of a job, for the tests that kill a member: joins `JOB` in the
 * ZooKeeper at `ZK_CONNECT` (under `ZK_PREFIX`, session timeout `ZK_SESSION_MS`), prints
 * `joined <index>/<count>` and stays until killed, never leaving.
 *
 *   node --import tsx packages/server/test/helpers/job-member-child.ts
 */
import { ZookeeperMembership } from '../../src/adapters/zookeeper/zookeeper-membership.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
}

const membership = await ZookeeperMembership.open({
  connect: required('ZK_CONNECT'),
  pathPrefix: required('ZK_PREFIX'),
  sessionTimeoutMs: Number(required('ZK_SESSION_MS')),
});
const handle = await membership.join(required('JOB'));
const view = handle.view();
process.stdout.write(`joined ${view?.index}/${view?.count}\n`);
// Keeps the process (and its session) alive until the test kills it.
setInterval(() => undefined, 60_000);
