import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Client, CreateMode, createClient, type Event, Exception, State } from 'node-zookeeper-client';
import { sameView } from '../../core/job-partition.ts';
import type { JobMembership, MembershipHandle, MembershipView } from '../../core/ports/worker-membership.ts';

export interface ZookeeperMembershipOptions {
  /** ZooKeeper connect string: `host:port[,host:port…]`, optionally with a chroot `/path`. */
  connect: string;
  /** Parent of the jobs' member lists: a job's members are children of `<pathPrefix>/<job>`. */
  pathPrefix: string;
  /** Session timeout asked of the server (it clamps it to 2–20 ticks). */
  sessionTimeoutMs: number;
  /** `open` and `join` give up when no server answers within this; default 2 × the session timeout. */
  connectTimeoutMs?: number;
  /** Told about failed ZooKeeper calls the adapter retries by itself. */
  onError?: (error: unknown, job: string | undefined) => void;
}

const JOB_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PATH_PREFIX = /^(\/[A-Za-z0-9_.-]+)+$/;
/** Sequence nodes end in a 10-digit counter the server appends. */
const SEQUENCE_DIGITS = 10;
/** A ZooKeeper call that failed while connected is retried after this. */
const RETRY_MS = 250;

function zkCall<T>(
  run: (callback: (error: Error | Exception | null, result: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, result) => (error === null || error === undefined ? resolve(result) : reject(error)));
  });
}

function isCode(error: unknown, code: number): boolean {
  return error instanceof Exception && error.getCode() === code;
}

/**
 * The production coordination store. Each member of a job is an ephemeral sequential znode
 * `<pathPrefix>/<job>/m-<uuid>-<seq>`; a member's index is the position of its node among the
 * job's children sorted by sequence number, the count is how many there are. A children watch
 * recomputes the view on every join and leave; the server removes a dead member's node when its
 * session expires.
 *
 * The view is withdrawn (`undefined`) as soon as the client loses its connection: the client
 * notices a silent server after 2/3 of the session timeout, before the server can expire the
 * session and let another member take the partition over. When the session expires — or the
 * connection stays lost for a whole session timeout — the adapter opens a new session and
 * registers every job again. The uuid in the node name lets a create whose
 * reply was lost find its node again instead of leaving a duplicate member behind.
 */
export class ZookeeperMembership implements JobMembership {
  private client: Client;
  private connected = false;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly members = new Set<ZookeeperMember>();

  private constructor(private readonly options: ZookeeperMembershipOptions) {
    if (!PATH_PREFIX.test(options.pathPrefix)) {
      throw new Error(`coordination path prefix must be an absolute znode path, got ${options.pathPrefix}`);
    }
    this.client = this.newClient();
  }

  /** Connects to ZooKeeper; rejects when no server answers within the connect timeout. */
  static async open(options: ZookeeperMembershipOptions): Promise<ZookeeperMembership> {
    const membership = new ZookeeperMembership(options);
    const timeoutMs = membership.connectTimeoutMs;
    const client = membership.client;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`ZooKeeper at ${options.connect} did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        client.once('connected', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } catch (err) {
      await membership.close();
      throw err;
    }
    return membership;
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 2 * this.options.sessionTimeoutMs;
  }

  /** The client of the current session (a new one after an expiry). */
  get session(): Client {
    return this.client;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async join(job: string): Promise<MembershipHandle> {
    if (!JOB_NAME.test(job)) throw new Error(`a job name is 1–64 of [A-Za-z0-9_-], got ${job}`);
    if (this.closed) throw new Error('this membership is closed');
    const member = new ZookeeperMember(this, job, `${this.options.pathPrefix}/${job}`);
    this.members.add(member);
    const timeoutMs = this.connectTimeoutMs;
    let stop: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const first = new Promise<void>((resolve, reject) => {
      stop = member.onChange((view) => {
        if (view !== undefined) resolve();
      });
      timer = setTimeout(
        () => reject(new Error(`no membership of job ${job} in ZooKeeper within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    member.refresh();
    try {
      await first;
    } catch (err) {
      await member.leave();
      throw err;
    } finally {
      stop();
      clearTimeout(timer);
    }
    return member;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.members].map((m) => m.leave()));
    this.closed = true;
    this.connected = false;
    clearTimeout(this.expiryTimer);
    // Closing the session removes any node a leave could not delete.
    this.client.close();
  }

  /** @internal */
  forget(member: ZookeeperMember): void {
    this.members.delete(member);
  }

  /** @internal */
  reportError(error: unknown, job: string): void {
    this.options.onError?.(error, job);
  }

  private newClient(): Client {
    const client = createClient(this.options.connect, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: 100,
      retries: 0,
    });
    // Only a client that had a session can lose it: one that never connected (the server is down,
    // or slow to accept under load) keeps trying, instead of being replaced every session timeout
    // before it could ever finish connecting.
    let hadSession = false;
    client.on('state', (state) => {
      // A replaced client may still report; only the current session counts.
      if (client !== this.client || this.closed) return;
      if (state === State.SYNC_CONNECTED) {
        hadSession = true;
        clearTimeout(this.expiryTimer);
        this.expiryTimer = undefined;
        this.connected = true;
        for (const member of this.members) member.refresh();
      } else if (state === State.EXPIRED) {
        this.renewSession(client);
      } else {
        this.connected = false;
        for (const member of this.members) member.disconnected();
        // Disconnected for a whole session timeout, the session is as good as expired (the server
        // expires it, or a restarted server that lost it may refuse this client's newer zxid):
        // start over with a new one, as Curator does.
        if (hadSession && this.expiryTimer === undefined) {
          const timeoutMs =
            client.getSessionTimeout() > 0 ? client.getSessionTimeout() : this.options.sessionTimeoutMs;
          this.expiryTimer = setTimeout(() => {
            this.expiryTimer = undefined;
            if (client === this.client && !this.connected && !this.closed) this.renewSession(client);
          }, timeoutMs);
          this.expiryTimer.unref();
        }
      }
    });
    client.connect();
    return client;
  }

  /** The session is lost: every member's node is gone; a new session registers them again. */
  private renewSession(expired: Client): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.connected = false;
    for (const member of this.members) member.sessionLost();
    this.client = this.newClient();
    expired.close();
  }
}

/** One job's membership of this process. */
class ZookeeperMember implements MembershipHandle {
  private current: MembershipView | undefined;
  private readonly listeners = new Set<(view: MembershipView | undefined) => void>();
  /** Our node's name under the job path, once created in the current session. */
  private nodeName: string | undefined;
  /** Identifies our node even when the reply to its create was lost. */
  private readonly memberId = randomUUID();
  private running = false;
  private again = false;
  private left = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly watcher = (_event: Event) => this.refresh();

  constructor(
    private readonly owner: ZookeeperMembership,
    readonly job: string,
    private readonly jobPath: string,
  ) {}

  view(): MembershipView | undefined {
    return this.current;
  }

  onChange(listener: (view: MembershipView | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    clearTimeout(this.retryTimer);
    this.setView(undefined);
    this.owner.forget(this);
    const name = this.nodeName;
    this.nodeName = undefined;
    if (name === undefined || !this.owner.isConnected) return;
    const client = this.owner.session;
    try {
      await zkCall<void>((cb) => client.remove(`${this.jobPath}/${name}`, -1, cb));
    } catch (err) {
      // Gone already, or the connection dropped: the session's end removes the node anyway.
      if (!isCode(err, Exception.NO_NODE)) this.owner.reportError(err, this.job);
    }
  }

  /** The connection dropped: the session may still be alive, but we cannot know the membership. */
  disconnected(): void {
    this.setView(undefined);
  }

  /** The session expired: our node is gone; the next session registers a new one. */
  sessionLost(): void {
    this.nodeName = undefined;
    this.setView(undefined);
  }

  /** Registers if needed and recomputes the view; runs one at a time, coalescing requests. */
  refresh(): void {
    if (this.left) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce();
        } while (this.again && !this.left);
      } finally {
        this.running = false;
      }
    })();
  }

  private async refreshOnce(): Promise<void> {
    if (!this.owner.isConnected) return;
    const client = this.owner.session;
    try {
      let children = await this.children(client);
      if (this.nodeName === undefined || !children.includes(this.nodeName)) {
        this.setView(undefined);
        this.nodeName = children.find((c) => c.startsWith(`m-${this.memberId}-`));
        if (this.nodeName === undefined) {
          const data = Buffer.from(`${hostname()}:${process.pid}`);
          const path = await zkCall<string>((cb) =>
            client.create(`${this.jobPath}/m-${this.memberId}-`, data, CreateMode.EPHEMERAL_SEQUENTIAL, cb),
          );
          this.nodeName = path.slice(this.jobPath.length + 1);
        }
        if (this.left) {
          await this.leaveNow(client);
          return;
        }
        children = await this.children(client);
      }
      const sorted = [...children].sort((a, b) => sequenceOf(a) - sequenceOf(b) || a.localeCompare(b));
      const index = this.nodeName === undefined ? -1 : sorted.indexOf(this.nodeName);
      if (index < 0) {
        // Removed between the create and the listing (an expiry): register again.
        this.nodeName = undefined;
        this.setView(undefined);
        this.again = true;
        return;
      }
      // Only a view read on a live connection counts: a reply racing a disconnect is dropped.
      if (this.owner.isConnected && client === this.owner.session && !this.left) {
        this.setView({ index, count: sorted.length });
      }
    } catch (err) {
      this.setView(undefined);
      if (this.left) return;
      this.owner.reportError(err, this.job);
      // A lost connection is retried on reconnect; anything else after a pause.
      if (this.owner.isConnected) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.refresh(), RETRY_MS);
        this.retryTimer.unref();
      }
    }
  }

  /** The job's children, watched; creates the job path first when it does not exist yet. */
  private async children(client: Client): Promise<string[]> {
    try {
      return await zkCall<string[]>((cb) => client.getChildren(this.jobPath, this.watcher, cb));
    } catch (err) {
      if (!isCode(err, Exception.NO_NODE)) throw err;
      await zkCall<string>((cb) => client.mkdirp(this.jobPath, cb));
      return await zkCall<string[]>((cb) => client.getChildren(this.jobPath, this.watcher, cb));
    }
  }

  private async leaveNow(client: Client): Promise<void> {
    const name = this.nodeName;
    this.nodeName = undefined;
    if (name === undefined) return;
    await zkCall<void>((cb) => client.remove(`${this.jobPath}/${name}`, -1, cb)).catch(() => undefined);
  }

  private setView(view: MembershipView | undefined): void {
    if (sameView(this.current, view)) return;
    this.current = view;
    for (const listener of [...this.listeners]) listener(view);
  }
}

function sequenceOf(name: string): number {
  return Number(name.slice(-SEQUENCE_DIGITS));
}
