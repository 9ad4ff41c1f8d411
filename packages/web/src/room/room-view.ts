import type { PeerSignal, TransportMode } from '@roomcast/client';
import type { JsonValue, RoomEvent } from '@roomcast/protocol';
import { h, type View } from '../shared/dom.ts';
import { formatCount } from '../shared/format.ts';
import type { Session } from '../shared/session.ts';
import { CommentFeed } from './comment-feed.ts';
import { Composer } from './composer.ts';
import { ConnectionBadge } from './connection-badge.ts';
import type { ConnectionView } from './connection-state.ts';
import { RecentKeys } from './event-gate.ts';
import { type CatalogueGift, GiftApi } from './gift-api.ts';
import { GiftBar } from './gift-bar.ts';
import { HostConsole } from './host-console.ts';
import { PeoplePanel } from './people-panel.ts';
import { PrivateMessages } from './private-messages.ts';
import { describeError, RoomSession, type RoomSessionHandlers } from './room-session.ts';
import { roomPath } from './routes.ts';
import { ShareLink } from './share-link.ts';
import { isRoomPartial, partialText } from './state-values.ts';
import { UserActionsMenu } from './user-actions-menu.ts';
import { VideoStage } from './video-stage.ts';

export interface RoomViewContext {
  baseUrl: string;
  session: Session;
  roomId: string;
  mode: TransportMode;
  /** The user chose another transport (the app remembers it). */
  onModeChange(mode: TransportMode): void;
  /** Whether comments fly over the video. */
  danmaku: boolean;
  /** The user turned flying comments on or off (the app remembers it). */
  onDanmakuChange(on: boolean): void;
  /** Back to the lobby. */
  onExit(): void;
}

const FEED_LINES = 200;
/** Event types whose sender the people panel lists (`enter` names its user in `data`). */
const PEOPLE_EVENTS = new Set(['comment', 'like', 'gift']);
const MUTE_SECONDS = 600;

/** Why the room is over for this user, by `left` reason. */
const LEFT_MESSAGES: Record<string, string> = {
  room_ended: 'This room has ended.',
  kicked: 'You were removed from this room.',
  banned: 'You are banned from this room.',
  not_found: 'This room no longer exists.',
  forbidden: 'You may no longer watch this room.',
};

/**
 * One live room: the stage (placeholder video, announcement, flying comments, gifts), the title,
 * online count and likes, the pinned message, private messages, the comment feed and box, the gift
 * bar for viewers and the host console for the host. Data comes from a `RoomSession`.
 */
export class RoomView implements View {
  readonly root: HTMLElement;
  /** Shown in the app's header while this view is open. */
  readonly headerItems: HTMLElement[];
  readonly #ctx: RoomViewContext;
  readonly #stage: VideoStage;
  readonly #feed: CommentFeed;
  readonly #people: PeoplePanel;
  readonly #composer: Composer;
  readonly #badge: ConnectionBadge;
  readonly #private = new PrivateMessages();
  readonly #menu: UserActionsMenu;
  readonly #title = h('h1', {
    className: 'room-title',
    textContent: 'Joining…',
    data: { testid: 'room-title' },
  });
  readonly #online = h('span', { className: 'stat', textContent: '–', data: { testid: 'online-count' } });
  readonly #onlineStat = h(
    'span',
    { className: 'stat-label', title: 'Online now' },
    h('span', { className: 'online-dot' }),
    this.#online,
    ' online',
  );
  /** Takes the online count's place once the room is over for this user. */
  readonly #status = h('span', { className: 'room-status', hidden: true, data: { testid: 'room-status' } });
  readonly #likes = h('span', { className: 'stat', textContent: '0', data: { testid: 'like-count' } });
  readonly #pinned = h('div', { className: 'pinned', hidden: true, data: { testid: 'pinned' } });
  readonly #below = h('div', { className: 'room-below' });
  readonly #gifts = new RecentKeys();
  readonly #entered = new RecentKeys();
  /** The catalogue by gift ID, once read: names and prices. */
  readonly #catalogue = new Map<string, CatalogueGift>();
  #session: RoomSession | undefined;
  /** The room's host, known before its history arrives (see `RoomSessionHandlers.opened`). */
  #hostId: string | undefined;
  #console: HostConsole | undefined;
  #roomTitle = '';
  #likeCount = 0;
  #wasLive = false;
  #over = false;
  #disposed = false;

  constructor(ctx: RoomViewContext) {
    this.#ctx = ctx;
    this.#stage = new VideoStage({ danmaku: ctx.danmaku, onDanmakuChange: (on) => ctx.onDanmakuChange(on) });
    this.#badge = new ConnectionBadge(ctx.mode, (mode) => void this.#setMode(mode));
    this.#menu = new UserActionsMenu({
      whisper: (user, text) => this.#whisper(user, text),
      moderate: async (user, action) => {
        await this.#live().client.api.moderate(ctx.roomId, {
          action,
          user,
          ...(action === 'mute' ? { seconds: MUTE_SECONDS } : {}),
        });
      },
      describeError,
    });
    const onAuthor = (user: string, anchor: HTMLElement) => {
      if (this.#session?.isHost === true && user !== ctx.session.userId) this.#menu.open(user, anchor);
    };
    this.#feed = new CommentFeed({ maxLines: FEED_LINES, onAuthor });
    this.#people = new PeoplePanel({ self: ctx.session.userId, onPerson: onAuthor });
    this.#composer = new Composer({
      maxLength: 500,
      send: async (text) => {
        await this.#live().publish('comment', { text });
      },
      like: async () => {
        await this.#live().publish('like', {});
      },
      describeError,
    });
    const share = new ShareLink(
      `${location.origin}${roomPath(ctx.roomId)}`,
      () => this.#title.textContent ?? '',
    );
    this.root = h(
      'div',
      { className: 'room-page', data: { testid: 'room-page', role: 'viewer' } },
      h(
        'div',
        { className: 'room-main' },
        h(
          'div',
          { className: 'room-heading' },
          this.#title,
          h(
            'div',
            { className: 'room-stats' },
            this.#onlineStat,
            this.#status,
            h(
              'span',
              { className: 'stat-label', title: 'Likes' },
              h('span', { className: 'like-mark', textContent: '♥' }),
              this.#likes,
            ),
            share.button,
          ),
        ),
        this.#stage.root,
        this.#below,
        share.row,
      ),
      h(
        'aside',
        { className: 'room-side' },
        this.#pinned,
        this.#private.root,
        this.#people.root,
        this.#feed.root,
        this.#composer.root,
      ),
      this.#menu.root,
    );
    this.headerItems = [this.#badge.root];
    void this.#enter();
  }

  dispose(): void {
    this.#disposed = true;
    this.#menu.close();
    this.#badge.dispose();
    this.#console?.dispose();
    this.#stage.dispose();
    this.#feed.dispose();
    this.#people.dispose();
    void this.#session?.dispose();
  }

  async #enter(): Promise<void> {
    const { session, roomId, baseUrl } = this.#ctx;
    let room: RoomSession;
    try {
      room = await RoomSession.enter({
        baseUrl,
        session,
        roomId,
        mode: this.#ctx.mode,
        handlers: this.#handlers(),
      });
    } catch (error) {
      if (this.#disposed) return;
      this.#showUnavailable(describeError(error));
      return;
    }
    if (this.#disposed) {
      void room.dispose();
      return;
    }
    this.#session = room;
    this.#setTitle(this.#roomTitle === '' ? room.room.title : this.#roomTitle);
    this.#stage.setHost(room.room.hostId);
    this.root.dataset.role = room.isHost ? 'host' : 'viewer';
    this.#feed.root.classList.toggle('moderating', room.isHost);
    this.#people.root.classList.toggle('moderating', room.isHost);
    if (room.isHost) this.#mountConsole(room);
    await this.#mountGifts(room);
  }

  #handlers(): RoomSessionHandlers {
    return {
      opened: (room) => {
        this.#hostId = room.hostId;
        this.#people.setHost(room.hostId);
      },
      event: (event, live) => this.#onEvent(event, live),
      state: (name, value) => this.#onState(name, value),
      peer: (signal) => this.#onPeer(signal),
      connection: (view) => this.#onConnection(view),
      skipped: () => this.#feed.push({ kind: 'notice', tone: 'warn', text: 'Some messages were skipped.' }),
      left: (reason) => this.#roomOver(reason),
    };
  }

  #onEvent(event: RoomEvent, live: boolean): void {
    // What people do shows they are here (the service's own events, `online` and the like, do not).
    if (typeof event.from === 'string' && PEOPLE_EVENTS.has(event.type)) this.#people.see(event.from);
    const own = event.from === this.#ctx.session.userId;
    const hostId = this.#hostId;
    switch (event.type) {
      case 'comment': {
        const text = typeof event.data.text === 'string' ? event.data.text : '';
        const from = event.from ?? 'system';
        this.#feed.push({
          kind: 'comment',
          seq: event.seq,
          from,
          text,
          ts: event.ts,
          own,
          byHost: from === hostId,
        });
        if (live) this.#stage.danmaku.add(text, own);
        return;
      }
      case 'gift': {
        const giftId = typeof event.data.gift === 'string' ? event.data.gift : 'gift';
        const count = typeof event.data.count === 'number' ? event.data.count : 1;
        // The outbox may publish a gift twice (after a crash): the transfer ID tells.
        const transfer = typeof event.data.transfer === 'string' ? event.data.transfer : `seq:${event.seq}`;
        if (!this.#gifts.add(transfer)) return;
        const from = event.from ?? 'someone';
        const gift = this.#catalogue.get(giftId);
        const giftName = gift?.name ?? giftId;
        // `amount` is price × count as charged; without it, the catalogue's price (or the count).
        const value = typeof event.data.amount === 'number' ? event.data.amount : count * (gift?.price ?? 1);
        this.#feed.push({ kind: 'gift', seq: event.seq, from, giftId, giftName, count, ts: event.ts });
        if (live) this.#stage.gifts.show({ from, giftId, giftName, count, value });
        return;
      }
      case 'like':
        this.#likeCount++;
        this.#likes.textContent = formatCount(this.#likeCount);
        return;
      case 'online':
        if (typeof event.data.count === 'number' && !this.#over) {
          this.#online.textContent = formatCount(event.data.count);
          this.#people.setOnline(event.data.count);
        }
        return;
      case 'enter':
        if (typeof event.data.user === 'string') {
          this.#people.see(
            event.data.user,
            typeof event.data.name === 'string' ? event.data.name : undefined,
          );
        }
        // Once per person: a flaky connection re-enters each time it comes back.
        if (
          live &&
          typeof event.data.user === 'string' &&
          event.data.user !== this.#ctx.session.userId &&
          this.#entered.add(event.data.user)
        ) {
          this.#feed.push({ kind: 'notice', tone: 'info', text: `${event.data.user} joined` });
        }
        return;
      default:
        // room_end arrives as `left`; other types are not shown.
        return;
    }
  }

  #onState(name: string, value: JsonValue | undefined): void {
    if (!isRoomPartial(name)) return;
    const text = partialText(value);
    this.#console?.update(name, text);
    switch (name) {
      case 'title':
        this.#roomTitle = text;
        if (text !== '' || this.#session !== undefined)
          this.#setTitle(text === '' ? (this.#session?.room.title ?? '') : text);
        return;
      case 'pinned':
        this.#pinned.replaceChildren(
          h('span', { className: 'pin', textContent: 'Pinned' }),
          h('span', { textContent: text }),
        );
        this.#pinned.hidden = text === '';
        return;
      case 'announcement':
        this.#stage.setAnnouncement(text);
        return;
      default:
        name satisfies never;
    }
  }

  #onPeer(signal: PeerSignal): void {
    const text = typeof signal.data.text === 'string' ? signal.data.text : '';
    if (signal.type === 'whisper' && text !== '') {
      this.#private.add({
        direction: 'in',
        peer: signal.from,
        text,
        ts: signal.ts ?? Date.now(),
        kind: 'whisper',
      });
    } else if (signal.type === 'moderation') {
      const action = typeof signal.data.action === 'string' ? signal.data.action : 'moderation';
      const seconds =
        typeof signal.data.seconds === 'number' ? ` for ${Math.round(signal.data.seconds / 60)} min` : '';
      const notice = {
        mute: `You were muted${seconds}.`,
        unmute: 'You can comment again.',
        kick: 'You were removed from the room.',
        ban: `You were banned${seconds}.`,
      }[action];
      this.#private.add({
        direction: 'in',
        peer: signal.from,
        text: notice ?? action,
        ts: signal.ts ?? Date.now(),
        kind: 'moderation',
      });
      // A pull client has no subscription the server could end: the notice is how it learns.
      if (action === 'kick') this.#roomOver('kicked');
      if (action === 'ban') this.#roomOver('banned');
    }
  }

  /** The room is over for this user: say why, stop the comment box and the connection. */
  #roomOver(reason: string): void {
    if (this.#over) return;
    this.#over = true;
    const message = LEFT_MESSAGES[reason] ?? `You left the room (${reason}).`;
    const ended = reason === 'room_ended';
    this.#stage.showEnded(message, () => this.#ctx.onExit(), ended);
    // A count of viewers means nothing any more: the header says the room is over instead.
    this.#onlineStat.hidden = true;
    this.#people.setOnline(undefined);
    this.#status.textContent = ended ? 'Ended' : 'Left';
    this.#status.title = message;
    this.#status.hidden = false;
    this.#console?.ended();
    this.#composer.disable(message);
    this.#feed.push({ kind: 'notice', tone: 'warn', text: message });
    const session = this.#session;
    if (session !== undefined) {
      this.#badge.update({ ...session.connection, phase: 'stopped', transport: null, detail: message });
      void session.dispose();
    }
  }

  #onConnection(view: ConnectionView): void {
    this.#badge.update(view);
    this.root.classList.toggle('offline', view.phase !== 'live');
    if (view.phase === 'live' && this.#wasLive === false && view.reconnects > 0) {
      this.#feed.push({ kind: 'notice', tone: 'info', text: 'Reconnected: caught up from where you left.' });
    }
    if (view.phase === 'reconnecting' && this.#wasLive) {
      this.#feed.push({ kind: 'notice', tone: 'warn', text: 'Connection lost: reconnecting…' });
    }
    this.#wasLive = view.phase === 'live';
  }

  async #setMode(mode: TransportMode): Promise<void> {
    this.#ctx.onModeChange(mode);
    try {
      await this.#session?.setMode(mode);
    } catch (error) {
      this.#feed.push({ kind: 'notice', tone: 'warn', text: `Could not switch: ${describeError(error)}` });
    }
  }

  async #whisper(user: string, text: string): Promise<void> {
    await this.#live().client.api.sendPeer(this.#ctx.roomId, { to: [user], type: 'whisper', data: { text } });
    this.#private.add({ direction: 'out', peer: user, text, ts: Date.now(), kind: 'whisper' });
  }

  #mountConsole(room: RoomSession): void {
    this.#console = new HostConsole({
      save: async (name, value) => {
        await room.client.api.setState(room.room.id, name, value);
      },
      end: async () => {
        await room.client.api.endRoom(room.room.id);
        // The subscription's `left` says so too, but a polling host may not get it.
        this.#roomOver('room_ended');
      },
      describeError,
    });
    this.#console.update('title', this.#roomTitle === '' ? room.room.title : this.#roomTitle);
    for (const name of ['pinned', 'announcement'] as const) {
      this.#console.update(name, partialText(room.client.room(room.room.id)?.state.get(name)));
    }
    this.#below.appendChild(this.#console.root);
  }

  /** Loads the catalogue (gift names for everyone) and, for viewers, shows the gift bar. */
  async #mountGifts(room: RoomSession): Promise<void> {
    const gifts = new GiftApi(room.client.api, this.#ctx.baseUrl, this.#ctx.session);
    let offer: Awaited<ReturnType<GiftApi['offer']>>;
    try {
      offer = await gifts.offer();
    } catch {
      return; // No gift bar when the gift endpoints fail: the room works without them.
    }
    if (!offer.available || this.#disposed) return;
    for (const gift of offer.gifts) this.#catalogue.set(gift.id, gift);
    if (room.isHost) return; // A host cannot gift their own room.
    const bar = new GiftBar({
      gifts: offer.gifts,
      balance: offer.balance,
      send: (giftId, count) => gifts.send(room.room.id, giftId, count),
      ...(gifts.canTopUp ? { topUp: () => gifts.devTopUp(1000) } : {}),
      describeError,
    });
    this.#below.prepend(bar.root);
  }

  #setTitle(title: string): void {
    this.#title.textContent = title;
    document.title = `${title} · roomcast`;
  }

  #showUnavailable(message: string): void {
    this.root.replaceChildren(
      h(
        'section',
        { className: 'card unavailable', data: { testid: 'room-unavailable' } },
        h('h1', { textContent: 'Cannot open this room' }),
        h('p', { textContent: message }),
        h('button', {
          type: 'button',
          className: 'primary',
          textContent: 'Back to live rooms',
          onclick: () => this.#ctx.onExit(),
        }),
      ),
    );
  }

  #live(): RoomSession {
    if (this.#session === undefined) throw new Error('still joining the room');
    return this.#session;
  }
}
