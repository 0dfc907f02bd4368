// One joined channel (draft 2.1, 2.3.2), seen from a member: find the host,
// connect, JOIN, chat, and when the host dies, fail over to the next host.
//
//  resolving --HOST_FOUND--> connecting --CONNECTED--> welcoming --history done--> joined
//      \--lookup timeout: nobody hosts it--> (host it ourselves) connecting
//  joined --connection closed--> reconnecting (one quick attempt) --refused--> failingOver
//  joined --host disconnected (figure 6)--> failingOver --candidate--> connecting
//  failingOver --no candidate--> orphaned --retry--> failingOver
//      (never welcomed: --retry--> resolving, as a new joiner)
//  joined --MOVED--> connecting (the winner of a split brain)
//      (a MOVED in a circle, isMovedBack: --> orphaned, and wait)
//  joined --USER_EXIT--> leaving --> left
//
// The machine names peers by id only; the node resolves ids to addresses,
// performs connects and writes, and feeds back what happened, tagged with
// the connection generation so that a late event of an old connection is
// ignored (memberlist's "stale events are ignored").
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import type { ClientCommand, ServerCommand } from '../lib/wire/command.ts';
import { appendBounded, historyWindowMax, inHostOrder, legacyMsgId, messageKey, mirrorLive, msgIdOf, pendingKept, withoutPending, type HistoryEntry } from './history.ts';
import { seenWindowFor, type SeenSnapshot, type SeenWindow } from './seen-window.ts';
import { chooseFailoverHost, nextNumber } from './rules.ts';

export interface ChannelMemberInput {
  channel: string;
  selfId: string;
  /** Prefix of this process's msgIds (unique per incarnation). */
  msgIdPrefix: string;
  historyLimit: number;
  /** Time to wait for discovery before deciding nobody hosts the channel. */
  lookupMs: number;
  /** The fast path's single reconnect attempt is bounded by this. */
  quickReconnectMs: number;
  /** A host that sends no WELCOME within this is taken for a legacy host. */
  welcomeTimeoutMs: number;
  /** How long an orphaned member waits before trying every candidate again. */
  retryMs: number;
  outboxLimit: number;
  /** Peers known to be disconnected at creation. */
  down: readonly string[];
}

export interface OutboxEntry {
  text: string;
  msgId: string;
}

/** What the input fixes for the actor's life. */
export type ChannelMemberSettings = Readonly<Omit<ChannelMemberInput, 'down'>>;

export interface ChannelMemberContext {
  /**
   * The input, one field rather than nine: XState copies the whole context
   * at every assign (Object.assign onto {}), and V8 makes an object of more
   * than about 17 fields built that way a slow dictionary: each assign of
   * this machine cost 20 times more, each of its transitions about 3 times
   * (docs/architecture.md, "Machine contexts stay small").
   */
  settings: ChannelMemberSettings;
  /**
   * Peers known to be disconnected (figure 6): those the channel names, and
   * the latest DOWN_OTHERS_MAX others (markedDown).
   */
  down: ReadonlySet<string>;
  hostId?: string;
  epoch: number;
  standbys: readonly string[];
  members: readonly string[];
  history: readonly HistoryEntry[];
  seen: SeenWindow;
  /** SAYs sent but not yet echoed by a host: re-sent after a failover. */
  outbox: readonly OutboxEntry[];
  /**
   * What numbers msgIds: `nextMsgNo` our next SAY's (msgIdOf), `legacySays`
   * the SAYs without msgId (a legacy host's) received in this membership,
   * which number the ids we give them (takeLegacySay). One field for both:
   * docs/architecture.md, "Machine contexts stay small".
   */
  counters: { nextMsgNo: number; legacySays: number };
  /** Connection generation: events of older connections are stale. */
  gen: number;
  /** Hosts tried in the current failover. */
  tried: readonly string[];
  /** The hosts of this search's MOVEDs: each that sent us on, and each it named (isMovedBack). */
  redirects: readonly string[];
  /** A host has WELCOMEd us in this membership: we hold its history. */
  welcomed: boolean;
  /** An orphaned retry period has passed: a member never welcomed may now host (see `candidate`). */
  waitedRetry: boolean;
  /**
   * WELCOME seen, history frames still expected, history received so far,
   * and our own history as it was before the WELCOME: what we may offer the
   * host (the received history is merged into our bounded history as it
   * arrives, and a full one would push our own messages out).
   */
  welcome?: { epoch: number; remaining: number; received: HistoryEntry[]; offer: readonly HistoryEntry[] };
}

export type ChannelMemberEvent =
  | { type: 'HOST_FOUND'; hostId: string; epoch: number }
  | { type: 'CONNECTED'; gen: number }
  | { type: 'CONNECT_FAILED'; gen: number; code: string }
  | { type: 'CLOSED'; gen: number; reason: string }
  /** The frames one chunk of the host's stream brought, in order (lib/node/channel-client.ts). */
  | { type: 'FRAMES'; gen: number; commands: readonly ServerCommand[] }
  | { type: 'PEER_DOWN'; peerId: string }
  | { type: 'PEER_UP'; peerId: string }
  /** A JOIN reached our node for the channel it does not host: a fellow member's, or (`own`) our own. */
  | { type: 'PROMOTE'; own?: boolean }
  | { type: 'USER_SAY'; text: string }
  | { type: 'USER_INVITE'; peerIds: string[] }
  | { type: 'USER_EXIT' };

export type ChannelMemberEmitted =
  | { type: 'connect'; gen: number; hostId: string; timeoutMs: number }
  | { type: 'disconnect'; gen: number }
  | { type: 'send'; gen: number; commands: readonly ClientCommand[] }
  /** `hostId` and `epoch`: the hosting whose stream brought it (the user's line says so too). */
  /** `late`: brought by a LATE frame (docs/protocol.md 5.5). */
  | { type: 'deliver'; authorId: string; text: string; msgId: string; fromHistory: boolean; relayed: boolean; late?: true; hostId: string; epoch: number }
  | {
      type: 'requestHost';
      epoch: number;
      history: readonly HistoryEntry[];
      /** This member's de-duplication window: the new host must not take older relays for new ones. */
      seen: SeenSnapshot;
      previousHost?: string;
      members: readonly string[];
    }
  | { type: 'joined'; hostId: string; epoch: number; history: number; relayed: number; resent: number }
  | { type: 'hostSuspected'; hostId: string; via: 'connection' | 'liveness' }
  | { type: 'failoverStarted'; hostId: string; epoch: number; candidates: readonly string[] }
  /** The split brain's loser (`from`) sent us to its winner. */
  | { type: 'moved'; from: string; hostId: string; epoch: number }
  | { type: 'orphaned'; tried: readonly string[] }
  | { type: 'outboxFull'; text: string }
  | { type: 'left' }
  | { type: 'membershipChanged' };

type Context = ChannelMemberContext;

type ServerSay = Extract<ServerCommand, { type: 'SAY' }>;

function historyEntryOf(command: ServerSay, msgId: string, fallbackSeq: number): HistoryEntry {
  const entry: HistoryEntry = { seq: command.seq ?? fallbackSeq, authorId: command.authorId, text: command.text, msgId };
  if (command.relayed) entry.relayed = true;
  return entry;
}

/** What the host's frames change, taken one frame after another (`receive`). */
type FrameState = Pick<Context, 'welcome' | 'epoch' | 'standbys' | 'members' | 'history' | 'outbox' | 'counters'>;

type Delivered = Extract<ChannelMemberEmitted, { type: 'deliver' }>;

/**
 * A SAY without msgId: a legacy KIT host's (draft table 3, `SAY authorId
 * text`). Such a host keeps no history and never sends one again, so each
 * of its SAYs is a new message, shown once, under an id of this membership's
 * own numbered by arrival (legacyMsgId; until December 2026 the id was `~`
 * and the text: three equal lines were shown once, and a text with a space
 * was an id no encoder takes, which ended the process at its RELAY or at a
 * takeover's WELCOME). Only this member knows that id, so the message stays
 * out of the history: relayed to another host or handed on by a takeover,
 * it would reach every member that saw it once more, under another id.
 */
function takeLegacySay(frames: FrameState, command: ServerSay, fromHistory: boolean, context: Context): Delivered | undefined {
  const settings = context.settings;
  const n = frames.counters.legacySays + 1;
  frames.counters = { ...frames.counters, legacySays: n };
  const hosting = { fromHistory, relayed: false, hostId: context.hostId!, epoch: frames.epoch };
  if (command.authorId === settings.selfId) {
    // Our own echo, our msgId dropped: the host keeps our order (TCP), so
    // the oldest outbox entry with this text is the one it acknowledges.
    const mine = frames.outbox.find((o) => o.text === command.text);
    if (mine) {
      frames.outbox = frames.outbox.filter((o) => o !== mine);
      if (!context.seen.add(messageKey(settings.selfId, mine.msgId))) return undefined;
      return { type: 'deliver', authorId: settings.selfId, text: mine.text, msgId: mine.msgId, ...hosting };
    }
  }
  return { type: 'deliver', authorId: command.authorId, text: command.text, msgId: legacyMsgId(settings.msgIdPrefix, n), ...hosting };
}

/**
 * One frame from the host: `frames` updated in place (it is the action's own
 * copy), the de-duplication window too; returns what to show the user.
 */
function takeFrame(frames: FrameState, command: ServerCommand, context: Context): Delivered | undefined {
  const settings = context.settings;
  switch (command.type) {
    case 'WELCOME':
      frames.welcome = { epoch: command.epoch, remaining: command.count, received: [], offer: frames.history };
      frames.epoch = command.epoch;
      return undefined;
    case 'STANDBY':
      frames.standbys = command.peerIds;
      return undefined;
    case 'MEMBERS':
      frames.members = command.peerIds;
      // A standby that is no member any more is no candidate. The host
      // sends no STANDBY when its ranking becomes empty (STANDBY names 1 to
      // 16 peers), so without this a member kept one that had left, and
      // its failover JOINed a node that no longer held the channel.
      if (frames.standbys.some((s) => !command.peerIds.includes(s))) frames.standbys = frames.standbys.filter((s) => command.peerIds.includes(s));
      return undefined;
    case 'MOVED':
      return undefined;
    case 'MERGED':
      frames.history = withoutPending(frames.history);
      return undefined;
    case 'SEEN': {
      // The host accepted it before (relayed in by others while we were
      // away) and has no copy left to echo: settled all the same.
      const mine = frames.outbox.find((o) => o.msgId === command.msgId);
      if (!mine) return undefined;
      frames.outbox = frames.outbox.filter((o) => o !== mine);
      if (!context.seen.add(messageKey(settings.selfId, mine.msgId))) return undefined;
      return { type: 'deliver', authorId: settings.selfId, text: mine.text, msgId: mine.msgId, fromHistory: false, relayed: false, hostId: context.hostId!, epoch: frames.epoch };
    }
    case 'LATE': {
      // Accepted before, offered again, and out of the host's history (so
      // not into ours): shown if we never had it, as a merged relay is.
      if (command.authorId === settings.selfId) frames.outbox = frames.outbox.filter((o) => o.msgId !== command.msgId);
      if (!context.seen.add(messageKey(command.authorId, command.msgId))) return undefined;
      return { type: 'deliver', authorId: command.authorId, text: command.text, msgId: command.msgId, fromHistory: false, relayed: true, late: true, hostId: context.hostId!, epoch: frames.epoch };
    }
    case 'SAY': {
      const welcome = frames.welcome;
      const fromHistory = welcome !== undefined && welcome.remaining > 0;
      if (command.msgId === undefined) {
        if (fromHistory) frames.welcome = { ...welcome, remaining: welcome.remaining - 1 };
        return takeLegacySay(frames, command, fromHistory, context);
      }
      const entry = historyEntryOf(command, command.msgId, frames.history.length + 1);
      if (fromHistory) {
        // A chanmesh host sends at most its history window; the count is
        // the network's word, so what we collect is bounded by our own.
        frames.welcome = { ...welcome, remaining: welcome.remaining - 1, received: appendBounded(welcome.received, entry, historyWindowMax(settings.historyLimit)) };
      }
      const key = messageKey(entry.authorId, entry.msgId);
      if (entry.authorId === settings.selfId) {
        // Our own echo: the host acknowledged it; the outbox entry is settled.
        frames.outbox = frames.outbox.filter((o) => o.msgId !== entry.msgId);
      }
      // The history mirrors the host's, in the host's order (it is what
      // this member carries into a takeover); whether the user sees the
      // message is the de-duplication window's business, not the history's.
      if (!fromHistory) frames.history = mirrorLive(frames.history, entry, settings.historyLimit);
      if (!context.seen.add(key)) return undefined;
      return { type: 'deliver', authorId: entry.authorId, text: entry.text, msgId: entry.msgId, fromHistory, relayed: entry.relayed === true, hostId: context.hostId!, epoch: frames.epoch };
    }
  }
}

export const channelMemberMachine = setup({
  types: {
    context: {} as Context,
    events: {} as ChannelMemberEvent,
    input: {} as ChannelMemberInput,
    emitted: {} as ChannelMemberEmitted,
  },
  delays: {
    lookup: ({ context }) => context.settings.lookupMs,
    welcomeTimeout: ({ context }) => context.settings.welcomeTimeoutMs,
    retry: ({ context }) => context.settings.retryMs,
    exitTimeout: ({ context }) => context.settings.quickReconnectMs * 5,
  },
  guards: {
    current: ({ context, event }) => 'gen' in event && event.gen === context.gen,
    isHostDown: ({ context, event }) => event.type === 'PEER_DOWN' && event.peerId === context.hostId,
    historyComplete: ({ context }) => context.welcome !== undefined && context.welcome.remaining === 0,
    neverWelcomed: ({ context }) => !context.welcomed,
    hostTried: ({ context }) => context.hostId !== undefined && context.tried.includes(context.hostId),
    hasCandidate: ({ context }) => candidate(context) !== undefined,
    candidateIsSelf: ({ context }) => candidate(context) === context.settings.selfId,
    isMoved: ({ context, event }) => event.type === 'FRAMES' && event.gen === context.gen && event.commands[0]?.type === 'MOVED',
    /**
     * A MOVED in a circle: it names the host that sent it, or a host an
     * earlier MOVED of this search came from or named (redirects). No honest
     * node names itself (a loser names its winner, a node that does not host
     * names another peer that does, docs/protocol.md 5.6); a second MOVED to
     * the same place is a stale view at best (a candidate that still hears
     * the host we could not reach), and followed, it loops: a host that sent
     * us to itself, or two that sent us to each other, had a member connect
     * and JOIN 2,500 times a second. The member waits as when every
     * candidate failed (orphaned, 5.4): the retry period, or a host that
     * discovery names. Not the next candidate: a redirect says some node
     * still reaches that host, and our own takeover would only start a split
     * brain (going on to the next candidate, a member in seed 6 of the
     * 12-node `--history 10 --rate 60 --fault-gap 1s` campaign took over at
     * epoch 10 from a host that its candidate still reached). The first
     * MOVED of a search is followed at once, as before.
     */
    isMovedBack: ({ context, event }) => {
      if (event.type !== 'FRAMES' || event.gen !== context.gen) return false;
      const moved = event.commands[0];
      return moved?.type === 'MOVED' && (moved.hostId === context.hostId || context.redirects.includes(moved.hostId));
    },
  },
  actions: {
    /** The current host is tried in this search: not a candidate again, and no second quick reconnect. */
    markTried: assign({ tried: ({ context }) => (context.hostId && !context.tried.includes(context.hostId) ? [...context.tried, context.hostId] : context.tried) }),
    /** Start a new connection attempt to the current host. */
    connect: enqueueActions(({ context, enqueue }, params: { timeoutMs?: number }) => {
      const gen = context.gen + 1;
      enqueue.emit({ type: 'disconnect', gen: context.gen });
      enqueue.assign({ gen, welcome: undefined });
      enqueue.emit({
        type: 'connect',
        gen,
        hostId: context.hostId!,
        timeoutMs: params.timeoutMs ?? context.settings.quickReconnectMs * 10,
      });
    }),

    dropConnection: emit(({ context }) => ({ type: 'disconnect' as const, gen: context.gen })),

    /** JOIN channelName peerId (draft table 1 + chanmesh's member id). */
    sendJoin: emit(({ context }) => ({
      type: 'send' as const,
      gen: context.gen,
      commands: [{ type: 'JOIN' as const, channel: context.settings.channel, peerId: context.settings.selfId }],
    })),

    /**
     * Frames from the host (WELCOME and history, SAY, STANDBY, MEMBERS, ...),
     * as many as one chunk of the stream brought, taken in order while none
     * of them changes the state: a MOVED, and the frames after the one that
     * completes a WELCOME's history (`untilHistoryComplete`: the member is
     * joined from then on), go back to the machine as a FRAMES event of their
     * own, handled after the transition, as if they had come on their own.
     * One event per chunk rather than per frame: a WELCOME brings up to three
     * times --history frames, and in the simulator's 100-node hour they were
     * a third of all machine events.
     */
    receive: enqueueActions(({ context, event, enqueue }, params: { untilHistoryComplete: boolean }) => {
      if (event.type !== 'FRAMES' || event.gen !== context.gen) return;
      const frames: FrameState = { welcome: context.welcome, epoch: context.epoch, standbys: context.standbys, members: context.members, history: context.history, outbox: context.outbox, counters: context.counters };
      const commands = event.commands;
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i]!;
        if (command.type === 'MOVED' && i > 0) {
          enqueue.raise({ type: 'FRAMES', gen: event.gen, commands: commands.slice(i) });
          break;
        }
        const delivered = takeFrame(frames, command, context);
        if (delivered !== undefined) enqueue.emit(delivered);
        const historyComplete = frames.welcome !== undefined && frames.welcome.remaining === 0;
        if (params.untilHistoryComplete && historyComplete && i + 1 < commands.length) {
          enqueue.raise({ type: 'FRAMES', gen: event.gen, commands: commands.slice(i + 1) });
          break;
        }
      }
      enqueue.assign(frames);
    }),

    /**
     * History done: offer the host what it lacks (RELAY), re-send what our
     * outbox still holds (same msgId, so the host de-duplicates), and report.
     */
    completeJoin: enqueueActions(({ context, enqueue }) => {
      const received = context.welcome?.received ?? [];
      const hostHas = new Set(received.map((h) => messageKey(h.authorId, h.msgId)));
      const relayed = (context.welcome?.offer ?? context.history).filter((h) => !hostHas.has(messageKey(h.authorId, h.msgId)));
      const relays: ClientCommand[] = relayed.map((h) => ({ type: 'RELAY', authorId: h.authorId, text: h.text, msgId: h.msgId, seq: h.seq }));
      const resend: ClientCommand[] = context.outbox
        .filter((o) => !hostHas.has(messageKey(context.settings.selfId, o.msgId)))
        .map((o) => ({ type: 'SAY', text: o.text, msgId: o.msgId }));
      // Relayed messages (acknowledged, so older than anything in the
      // outbox) go first: every author's order is kept.
      const commands = [...relays, ...resend];
      if (commands.length > 0) enqueue.emit({ type: 'send', gen: context.gen, commands });
      enqueue.emit({
        type: 'joined',
        hostId: context.hostId!,
        epoch: context.epoch,
        history: received.length,
        relayed: relays.length,
        resent: resend.length,
      });
      // From now on our history is the host's: what it WELCOMEd us with (in
      // its order, inHostOrder), then what it sends. What we relay waits
      // after it, pending, until the host decides (mirrorLive): a host that
      // dies before it accepted our relays loses nothing we had. Neither may
      // push the other out: cut to a window together, relays dropped
      // messages of the WELCOME that we alone would have carried into a
      // takeover (seed 1, 10 nodes, 2 min, --rate 50: a member relayed 88
      // into its new host, kept the last of both and took over a second
      // later without 3 of the host's). The relays waiting are bounded all
      // the same, those pending longest dropped first (pendingKept): a host
      // that never decides made each join's history the next one's relays,
      // without end.
      if (context.welcome) {
        const lastSeq = received.reduce((max, h) => Math.max(max, h.seq), 0);
        const offered = relayed.map((h, i): HistoryEntry => ({ seq: nextNumber(lastSeq, 1 + i), authorId: h.authorId, text: h.text, msgId: h.msgId, pending: true }));
        enqueue.assign({ history: [...inHostOrder(received), ...pendingKept(offered, context.settings.historyLimit)] });
      }
      enqueue.assign({ welcome: undefined, tried: [], redirects: [], welcomed: true });
      enqueue.emit({ type: 'membershipChanged' });
    }),

    queueSay: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'USER_SAY') return;
      if (context.outbox.length >= context.settings.outboxLimit) {
        enqueue.emit({ type: 'outboxFull', text: event.text });
        return;
      }
      const { nextMsgNo } = context.counters;
      const msgId = msgIdOf(context.settings.msgIdPrefix, nextMsgNo);
      enqueue.assign({ counters: { ...context.counters, nextMsgNo: nextMsgNo + 1 }, outbox: [...context.outbox, { text: event.text, msgId }] });
    }),

    sendLastOutbox: emit(({ context }) => {
      const last = context.outbox[context.outbox.length - 1]!;
      return { type: 'send' as const, gen: context.gen, commands: [{ type: 'SAY' as const, text: last.text, msgId: last.msgId }] };
    }),

    markDown: assign({
      down: ({ context, event }) => (event.type === 'PEER_DOWN' ? markedDown(context, event.peerId) : context.down),
    }),
    markUp: assign({
      down: ({ context, event }) => {
        if (event.type !== 'PEER_UP' || !context.down.has(event.peerId)) return context.down;
        const down = new Set(context.down);
        down.delete(event.peerId);
        return down;
      },
    }),

    /**
     * The next host: the first live standby, then the lowest live member.
     * The search's first pick starts the failover (one failover.started,
     * not one per candidate that failed); the host it began with, the
     * first tried, is the one a takeover replaces (until December 2026
     * each pick reported one, and a takeover named the last candidate
     * tried as the host it replaced).
     */
    pickCandidate: enqueueActions(({ context, enqueue }) => {
      const failedHost = context.tried[0] ?? context.hostId;
      const next = candidate(context)!;
      if (context.tried.length <= 1) {
        enqueue.emit({
          type: 'failoverStarted',
          hostId: failedHost ?? '',
          epoch: context.epoch,
          candidates: [next, ...context.standbys.filter((s) => s !== next)],
        });
      }
      if (next === context.settings.selfId) {
        // We are the standby in charge: host the channel with the next
        // epoch and everything we hold, then join it like any member.
        enqueue.emit({
          type: 'requestHost',
          epoch: nextNumber(context.epoch),
          history: context.history,
          seen: context.seen.snapshot(),
          previousHost: failedHost,
          members: context.members,
        });
      }
      enqueue.assign({ hostId: next, tried: [...context.tried, next] });
    }),

    takeOverNow: enqueueActions(({ context, enqueue }) => {
      // A fellow member's JOIN told us before our own timer did: this is a
      // failover all the same, and is reported as one.
      enqueue.emit({ type: 'failoverStarted', hostId: context.hostId ?? '', epoch: context.epoch, candidates: [context.settings.selfId] });
      enqueue.emit({
        type: 'requestHost',
        epoch: nextNumber(context.epoch),
        history: context.history,
        seen: context.seen.snapshot(),
        previousHost: context.hostId,
        members: context.members,
      });
      enqueue.assign({ hostId: context.settings.selfId, tried: context.hostId ? [context.hostId] : [] });
    }),

    hostItself: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: 'requestHost', epoch: nextNumber(context.epoch), history: context.history, seen: context.seen.snapshot(), members: [] });
      enqueue.assign({ hostId: context.settings.selfId });
    }),
  },
}).createMachine({
  id: 'channelMember',
  context: ({ input: { down, ...settings } }) => ({
    settings,
    down: new Set(down),
    epoch: 0,
    standbys: [],
    members: [],
    history: [],
    seen: seenWindowFor(settings.historyLimit),
    outbox: [],
    counters: { nextMsgNo: 1, legacySays: 0 },
    gen: 0,
    tried: [],
    redirects: [],
    welcomed: false,
    waitedRetry: false,
  }),
  on: {
    USER_SAY: { actions: 'queueSay' },
    // A fellow member failing over JOINed us: we take over (rules.ts,
    // decideUnhostedJoin), whatever we were doing. Our own JOIN found the
    // host we asked for gone (it emptied and closed before we got there):
    // we take over again on the connection that JOIN came on. Reconnecting
    // dropped it, the new host lost its one member and closed, and the next
    // JOIN did the same: 11 takeovers in 20 ms (F23).
    PROMOTE: [{ guard: ({ event }) => event.own === true, actions: 'takeOverNow' }, { target: '.connecting', actions: 'takeOverNow' }],
    PEER_DOWN: { actions: 'markDown' },
    PEER_UP: { actions: 'markUp' },
  },
  initial: 'resolving',
  states: {
    resolving: {
      on: {
        HOST_FOUND: { target: 'connecting', actions: assign({ hostId: ({ event }) => event.hostId, epoch: ({ event }) => event.epoch }) },
        USER_EXIT: { target: 'left' },
      },
      // Draft 2.1: JOIN of a channel that doesn't exist creates it. Nobody
      // announced one within the lookup time, so this node hosts it.
      after: { lookup: { target: 'connecting', actions: 'hostItself' } },
    },
    connecting: {
      entry: { type: 'connect', params: {} },
      on: {
        CONNECTED: { guard: 'current', target: 'welcoming', actions: 'sendJoin' },
        CONNECT_FAILED: { guard: 'current', target: 'failingOver' },
        // The peer we are connecting to was declared dead meanwhile: don't wait for the timeout.
        PEER_DOWN: { guard: 'isHostDown', target: 'failingOver', actions: 'markDown' },
        USER_EXIT: { target: 'left', actions: emit(({ context }) => ({ type: 'disconnect' as const, gen: context.gen })) },
      },
    },
    welcoming: {
      on: {
        FRAMES: [
          { guard: 'isMovedBack', target: 'orphaned', actions: 'dropConnection' },
          { guard: 'isMoved', target: 'moving' },
          { guard: 'current', actions: { type: 'receive', params: { untilHistoryComplete: true } } },
        ],
        // A host that closes before its WELCOME gets the one quick
        // reconnect of the fast path, unless it had it already, or is a
        // candidate of this failover (both are in `tried`): then the next
        // candidate. Reconnecting for ever, a member whose host accepted
        // and closed every connection (a refused JOIN, TLS with another
        // secret) connected some 1,100 times a second (until December 2026).
        CLOSED: [
          { guard: and(['current', 'hostTried']), target: 'failingOver' },
          { guard: 'current', target: 'reconnecting' },
        ],
        PEER_DOWN: { guard: 'isHostDown', target: 'failingOver', actions: ['markDown', emit(({ context }) => ({ type: 'hostSuspected' as const, hostId: context.hostId!, via: 'liveness' as const }))] },
        USER_EXIT: { target: 'leaving' },
      },
      always: { guard: 'historyComplete', target: 'joined', actions: 'completeJoin' },
      // A legacy host sends no WELCOME: after a while take it as joined.
      after: { welcomeTimeout: { target: 'joined', actions: 'completeJoin' } },
    },
    joined: {
      on: {
        FRAMES: [
          { guard: 'isMovedBack', target: 'orphaned', actions: 'dropConnection' },
          { guard: 'isMoved', target: 'moving' },
          { guard: 'current', actions: { type: 'receive', params: { untilHistoryComplete: false } } },
        ],
        USER_SAY: { actions: ['queueSay', 'sendLastOutbox'] },
        // INVITE (draft table 6) goes to the host, which announces it.
        USER_INVITE: {
          actions: emit(({ context, event }) => ({
            type: 'send' as const,
            gen: context.gen,
            commands: [{ type: 'INVITE' as const, peerIds: event.peerIds }],
          })),
        },
        CLOSED: { guard: 'current', target: 'reconnecting' },
        PEER_DOWN: { guard: 'isHostDown', target: 'failingOver', actions: ['markDown', emit(({ context }) => ({ type: 'hostSuspected' as const, hostId: context.hostId!, via: 'liveness' as const }))] },
        USER_EXIT: { target: 'leaving' },
      },
    },
    moving: {
      // MOVED hostId epoch: the split brain's loser sent us to the winner.
      // A new failover from there (tried), but the same search: both hosts
      // are remembered, so that a MOVED back to either is seen for the
      // circle it is (isMovedBack).
      entry: enqueueActions(({ context, event, enqueue }) => {
        const moved = event.type === 'FRAMES' ? event.commands[0] : undefined;
        if (moved?.type !== 'MOVED') return;
        const from = context.hostId!;
        enqueue.emit({ type: 'moved', from, hostId: moved.hostId, epoch: moved.epoch });
        const redirects = [...context.redirects, from, moved.hostId].filter((id, i, all) => all.indexOf(id) === i);
        enqueue.assign({ hostId: moved.hostId, epoch: moved.epoch, tried: [], redirects });
      }),
      always: { target: 'connecting' },
    },
    reconnecting: {
      // Fast path: the connection broke. One quick attempt to the same
      // host; a refusal or timeout means it is gone (kill -9 looks so).
      entry: [
        emit(({ context }) => ({ type: 'hostSuspected' as const, hostId: context.hostId!, via: 'connection' as const })),
        // Its quick reconnect is spent (welcoming, CLOSED).
        'markTried',
        { type: 'connect', params: ({ context }: { context: Context }) => ({ timeoutMs: context.settings.quickReconnectMs }) },
      ],
      on: {
        CONNECTED: { guard: 'current', target: 'welcoming', actions: 'sendJoin' },
        CONNECT_FAILED: { guard: 'current', target: 'failingOver' },
        PEER_DOWN: { guard: 'isHostDown', target: 'failingOver', actions: 'markDown' },
        USER_EXIT: { target: 'left', actions: emit(({ context }) => ({ type: 'disconnect' as const, gen: context.gen })) },
      },
    },
    failingOver: {
      entry: 'markTried',
      always: [
        { guard: 'hasCandidate', target: 'connecting', actions: 'pickCandidate' },
        { target: 'orphaned' },
      ],
    },
    orphaned: {
      // Every candidate failed. Try again later, from the directory or from
      // scratch: the channel must not be lost while a member lives.
      entry: emit(({ context }) => ({ type: 'orphaned' as const, tried: context.tried })),
      on: {
        HOST_FOUND: { target: 'connecting', actions: assign({ hostId: ({ event }) => event.hostId, epoch: ({ event }) => event.epoch, tried: [], redirects: [] }) },
        USER_EXIT: { target: 'left' },
      },
      after: {
        retry: [
          // Never welcomed, we hold nothing of the channel: look for it
          // again as a new joiner does, and create it if nobody hosts it
          // any more (draft 2.1). The host we were told of may have closed
          // it meanwhile, and live, it is never declared down: we would
          // retry it for ever (seed 35 of the 10-node campaign at a 1 s
          // interval with churn: cut off one way, the host closed the
          // channel when its last member left, and a newcomer that could
          // not reach it was orphaned to the end of the run).
          { guard: 'neverWelcomed', target: 'resolving', actions: assign({ tried: [], redirects: [], waitedRetry: true, hostId: undefined }) },
          { target: 'failingOver', actions: assign({ tried: [], redirects: [], waitedRetry: true }) },
        ],
      },
    },
    leaving: {
      // EXIT (draft table 5); the server closes the connection after it.
      entry: emit(({ context }) => ({ type: 'send' as const, gen: context.gen, commands: [{ type: 'EXIT' as const }] })),
      on: { CLOSED: { guard: 'current', target: 'left' }, PROMOTE: {} },
      after: { exitTimeout: { target: 'left' } },
    },
    left: {
      type: 'final',
      entry: [emit(({ context }) => ({ type: 'disconnect' as const, gen: context.gen })), emit({ type: 'left' }), emit({ type: 'membershipChanged' })],
    },
  },
});

/**
 * Disconnected peers a membership keeps besides the ones its channel names
 * (markedDown): enough for the few a host names just after we heard they
 * were gone, too few for a flood of ids to cost anything.
 */
export const DOWN_OTHERS_MAX = 64;

/**
 * `down` after PEER_DOWN `peerId`. Every disconnection in the cluster reaches
 * every membership, and a failover (candidate) needs only the peers its
 * channel names: the host, the standbys, the members, the hosts tried.
 * Those are kept; of all others only the latest DOWN_OTHERS_MAX, for a peer
 * declared down before a host that had not noticed yet names it in STANDBY
 * or MEMBERS (tried, it would cost a connect timeout). Kept all, the list
 * grew with every id anyone announced once and went silent (20,000
 * invented ids: 18,229 entries, each PEER_DOWN copying them all), and a
 * plain cap would let such a flood push out a dead standby.
 */
function markedDown(context: Context, peerId: string): ReadonlySet<string> {
  if (context.down.has(peerId)) return context.down;
  const down = new Set(context.down).add(peerId);
  if (down.size <= DOWN_OTHERS_MAX) return down;
  const named = new Set([...context.standbys, ...context.members, ...context.tried]);
  if (context.hostId !== undefined) named.add(context.hostId);
  let others = 0;
  for (const id of down) if (!named.has(id)) others++;
  // Oldest first (a Set keeps insertion order).
  for (const id of down) {
    if (others <= DOWN_OTHERS_MAX) break;
    if (!named.has(id)) {
      down.delete(id);
      others--;
    }
  }
  return down;
}

function candidate(context: Context): string | undefined {
  // A member that was never welcomed in this membership holds no history
  // and knows no standbys; a failed connect is no evidence that the host
  // died (it may be we who are cut off). It may host only once the host is
  // declared disconnected (figure 6); until then it waits and retries,
  // rather than start a higher epoch with nothing in it that would win the
  // split brain at the next heal. Even then it first waits one retry period
  // for a member that holds the history (a standby detects the same silence
  // at the same moment) to take over and announce it: two takeovers at one
  // epoch are won by the lower host id, and an empty winner's history would
  // fill with the loser's relays and push out what it acknowledged itself.
  const mayHostEmpty = context.hostId === undefined || (context.down.has(context.hostId) && context.waitedRetry);
  const selfEligible = context.welcomed || mayHostEmpty;
  const tried = new Set(context.tried);
  if (!selfEligible) tried.add(context.settings.selfId);
  return chooseFailoverHost({
    standbys: context.standbys,
    members: context.members,
    selfId: context.settings.selfId,
    down: context.down,
    tried,
  });
}
