// One hosted channel (draft 2.1, 2.3.1, table 7): members, ranked standbys,
// epoch and history. Events come in from the channel server (decoded
// commands on member connections); effects go out as emitted events that
// the server performs (encode once, write to every connection named).
//
//   opening --JOIN--> hosting --last member gone--> closed
//      \------RIVAL_HOST that wins--> yielded (MOVED to every member)
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { ServerCommand } from '../lib/wire/command.ts';
import { MAX_MEMBERS } from '../lib/wire/limits.ts';
import { appendToHistory, inAuthorOrder, messageKey, type HistoryEntry } from './history.ts';
import { seenWindowFor, type SeenSnapshot, type SeenWindow } from './seen-window.ts';
import { sameList } from '../lib/lists.ts';
import { hostingWins, nextNumber, rankStandbys, type PeerLoads } from './rules.ts';

export interface HostedMember {
  peerId: string;
  connId: string;
  /** Joined without a peer id: a KIT client of the draft, sent none of chanmesh's own commands but WELCOME and MEMBERS (protocol 2.3). */
  legacy?: boolean;
}

export interface ChannelHostInput {
  channel: string;
  hostId: string;
  epoch: number;
  standbyCount: number;
  historyLimit: number;
  /** History inherited on takeover (empty for a new channel). */
  history: readonly HistoryEntry[];
  /**
   * The new host's de-duplication window as a member (keys and runs): a
   * relay of a message older than the inherited history is recognised, not
   * delivered a second time out of order.
   */
  seenAsMember?: SeenSnapshot;
  loads: PeerLoads;
  /** How long relays are gathered before they are merged (docs/protocol.md 5.5). */
  relayWindowMs: number;
  /** Taken over from a failed host: its members are on their way here (see `hosting.starting`). */
  takeover?: boolean;
  /** How long the channel waits for its first JOIN before it closes (opening). */
  openingTimeoutMs: number;
}

export interface ChannelHostContext extends ChannelHostInput {
  members: readonly HostedMember[];
  standbys: readonly string[];
  /** Member connections in fan-out order, kept with members and standbys (not sorted per SAY). */
  fanOut: readonly string[];
  /** Messages held while relays are merged (bounded by maxHeld). */
  held: readonly IncomingMessage[];
  nextSeq: number;
  seen: SeenWindow;
}

export type ChannelHostEvent =
  | { type: 'JOIN'; connId: string; peerId: string; loads: PeerLoads; legacy?: boolean }
  | { type: 'SAY'; connId: string; text: string; msgId?: string }
  | { type: 'RELAY'; connId: string; authorId: string; text: string; msgId: string; seq?: number }
  | { type: 'EXIT'; connId: string; loads: PeerLoads }
  | { type: 'CONNECTION_CLOSED'; connId: string; loads: PeerLoads }
  | { type: 'INVITE'; connId: string; peerIds: string[] }
  | { type: 'PEERS_CHANGED'; loads: PeerLoads }
  | { type: 'RIVAL_HOST'; hostId: string; epoch: number }
  | { type: 'STOP' };

/** Effects for the channel server to perform. */
export type ChannelHostEmitted =
  | { type: 'send'; to: readonly string[]; commands: readonly ServerCommand[] }
  | { type: 'close'; connId: string; reason: string }
  | { type: 'announce' }
  | { type: 'memberJoined'; peerId: string; members: readonly string[] }
  | { type: 'memberLeft'; peerId: string; members: readonly string[]; reason: string }
  | { type: 'standbysChanged'; standbys: readonly string[] }
  | { type: 'invited'; by: string; peerIds: readonly string[] }
  | { type: 'closed'; reason: 'empty' | 'yielded' | 'stopped'; winner?: string; winnerEpoch?: number };

/** Messages held while relays merge, at most: more are merged at once. */
const maxHeld = (context: ChannelHostContext) => 4 * Math.max(context.historyLimit, 64);

/**
 * Said (not relayed) messages held, at most: half the history. A release is
 * one burst of acknowledgements; a host that dies as it goes out leaves
 * some members with it and some without, and the ones with it can relay
 * only what their history still holds, the last `historyLimit` said. A
 * burst of more was lost for good in its head (until December 2026: 90
 * messages held at --history 10, F21 in docs/simulator-findings.md).
 * Relays are not counted: the merge sorts them by seq, and they are
 * repairs already.
 */
const maxHeldSays = (context: ChannelHostContext) => Math.max(1, Math.floor(context.historyLimit / 2));

const memberIds = (members: readonly HostedMember[]) => members.map((m) => m.peerId);
const memberOf = (context: ChannelHostContext, connId: string) => context.members.find((m) => m.connId === connId);

/** Fan-out order: standbys first, so a standby holds whatever anyone holds. */
function fanOutOrder(members: readonly HostedMember[], standbys: readonly string[]): string[] {
  const rank = (m: HostedMember) => {
    const i = standbys.indexOf(m.peerId);
    return i < 0 ? standbys.length : i;
  };
  return [...members].sort((a, b) => rank(a) - rank(b)).map((m) => m.connId);
}

/** A SAY or RELAY as the host accepts it. */
export interface IncomingMessage {
  connId: string;
  authorId: string;
  text: string;
  msgId?: string;
  relayed: boolean;
  /** The seq a relayed message had at the host the relaying member got it from. */
  relayedSeq?: number;
}

function incoming(context: ChannelHostContext, event: Extract<ChannelHostEvent, { type: 'SAY' | 'RELAY' }>): IncomingMessage | undefined {
  const sender = memberOf(context, event.connId);
  if (!sender) return undefined;
  if (event.type === 'SAY') return { connId: event.connId, authorId: sender.peerId, text: event.text, msgId: event.msgId, relayed: false };
  return { connId: event.connId, authorId: event.authorId, text: event.text, msgId: event.msgId, relayed: true, relayedSeq: event.seq };
}

/**
 * Accept messages in order: de-duplicate by (author, msgId), give each the
 * next seq, keep it in the history, send it to every member, standbys
 * first. A copy of a known message is not sent again, but a SAY's author,
 * whose outbox waits for the echo, gets it back: the history's copy, or
 * SEEN when the history no longer holds it. Without SEEN an author that
 * re-sent a message others had relayed in, and that had left the history
 * since, kept it in its outbox for good, re-sent it at every join, and once
 * the de-duplication window had forgotten it, everyone got it twice (seed
 * 181, 8 nodes, --history 10 --rate 50: 61 s later).
 *
 * A known message offered again that the history no longer holds goes to
 * the other members as LATE, outside the history: a member that was away
 * while it was accepted (between hosts, or on another side) and joined
 * after it left the history never got it from here, and its offerer is the
 * last holder we will hear of; members that have it drop it (their
 * de-duplication windows). Dropped here, as it was until the seventeenth
 * session, a holder's offer repaired nobody. Not put back into the
 * history: there it would push newer messages out (F5).
 */
function accept(context: ChannelHostContext, messages: readonly IncomingMessage[]) {
  let nextSeq = context.nextSeq;
  let history = context.history;
  const sends: Array<Extract<ChannelHostEmitted, { type: 'send' }>> = [];
  let sentLate: Set<string> | undefined;
  // LATE is chanmesh's own: not to a member of the draft (fan-out order, as SAY).
  let lateTo: readonly string[] | undefined;
  for (const m of messages) {
    // A legacy client sends no msgId: the host names the message so that
    // it can still be de-duplicated and relayed after a failover.
    const msgId = m.msgId ?? `~${context.epoch}.${nextSeq}`;
    const key = messageKey(m.authorId, msgId);
    if (!context.seen.add(key)) {
      const known = history.find((h) => h.authorId === m.authorId && h.msgId === msgId);
      if (!m.relayed) sends.push({ type: 'send', to: [m.connId], commands: [known ? sayCommand(known) : { type: 'SEEN', msgId }] });
      if (!known && !sentLate?.has(key)) {
        (sentLate ??= new Set()).add(key);
        lateTo ??= chanmeshMembers(context);
        const to = lateTo.filter((connId) => connId !== m.connId);
        if (to.length > 0) sends.push({ type: 'send', to, commands: [{ type: 'LATE', authorId: m.authorId, text: m.text, msgId }] });
      }
      continue;
    }
    const entry: HistoryEntry = { seq: nextSeq, authorId: m.authorId, text: m.text, msgId, ...(m.relayed ? { relayed: true } : {}) };
    nextSeq = nextNumber(nextSeq);
    history = appendToHistory(history, entry, context.historyLimit);
    sends.push({ type: 'send', to: context.fanOut, commands: [sayCommand(entry)] });
  }
  return { nextSeq, history, sends };
}

function chanmeshMembers(context: ChannelHostContext): readonly string[] {
  const legacy = new Set(context.members.filter((m) => m.legacy).map((m) => m.connId));
  return legacy.size === 0 ? context.fanOut : context.fanOut.filter((connId) => !legacy.has(connId));
}

/** A history entry as members get it: marked when merged from a relay, so that their windows keep what ours keeps (appendToHistory). */
function sayCommand(entry: HistoryEntry): ServerCommand {
  const say = { type: 'SAY' as const, authorId: entry.authorId, text: entry.text, msgId: entry.msgId, seq: entry.seq };
  return entry.relayed ? { ...say, relayed: true } : say;
}

export const channelHostMachine = setup({
  types: {
    context: {} as ChannelHostContext,
    events: {} as ChannelHostEvent,
    input: {} as ChannelHostInput,
    emitted: {} as ChannelHostEmitted,
  },
  delays: {
    relayWindow: ({ context }) => context.relayWindowMs,
    openingTimeout: ({ context }) => context.openingTimeoutMs,
  },
  guards: {
    /** The message that arrives now would be one too many to hold: merge everything with it. */
    heldFull: ({ context, event }) =>
      context.held.length >= maxHeld(context) || (event.type === 'SAY' && context.held.filter((m) => !m.relayed).length >= maxHeldSays(context)),
    tookOver: ({ context }) => context.takeover === true,
    isMember: ({ context, event }) => 'connId' in event && memberOf(context, event.connId) !== undefined,
    noMembersLeft: ({ context }) => context.members.length === 0,
    /**
     * A JOIN of a peer that is not a member yet, when the channel has
     * MAX_MEMBERS: MEMBERS carries no more (2.3), and the 513th member's
     * list failed to encode on the host, an exception that ended the
     * process (until 7 December 2026).
     */
    channelFull: ({ context, event }) =>
      event.type === 'JOIN' && context.members.length >= MAX_MEMBERS && !context.members.some((m) => m.peerId === event.peerId),
    rivalWins: ({ context, event }) =>
      event.type === 'RIVAL_HOST' &&
      event.hostId !== context.hostId &&
      hostingWins({ hostId: event.hostId, epoch: event.epoch }, { hostId: context.hostId, epoch: context.epoch }),
  },
  actions: {
    /**
     * JOIN (draft table 1): a repeated JOIN by the same peer on the same
     * connection is ignored; the same peer on a new connection (it
     * reconnected) replaces the old one. The joiner gets WELCOME, the history
     * and the standby ranking; everyone gets the new member list.
     */
    join: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'JOIN') return;
      const existing = context.members.find((m) => m.peerId === event.peerId);
      if (existing?.connId === event.connId) return;
      const others = context.members.filter((m) => m.peerId !== event.peerId);
      if (existing) enqueue.emit({ type: 'close', connId: existing.connId, reason: 'replaced by a new connection' });
      const members = [...others, { peerId: event.peerId, connId: event.connId, ...(event.legacy ? { legacy: true } : {}) }];
      const ids = memberIds(members);
      const standbys = rankStandbys(context.channel, ids, context.hostId, event.loads, context.standbyCount);
      enqueue.assign({ members, standbys, fanOut: fanOutOrder(members, standbys), loads: event.loads });
      enqueue.emit({
        type: 'send',
        to: [event.connId],
        commands: [
          { type: 'WELCOME', channel: context.channel, epoch: context.epoch, count: context.history.length },
          // Each author's messages in the author's order, each with its own seq (history.ts inHostOrder).
          ...inAuthorOrder(context.history).map(sayCommand),
          ...(standbys.length > 0 ? [{ type: 'STANDBY' as const, peerIds: [...standbys] }] : []),
        ],
      });
      const everyone = members.map((m) => m.connId);
      if (!sameList(standbys, context.standbys) && standbys.length > 0) {
        const rest = everyone.filter((c) => c !== event.connId);
        if (rest.length > 0) enqueue.emit({ type: 'send', to: rest, commands: [{ type: 'STANDBY', peerIds: [...standbys] }] });
      }
      enqueue.emit({ type: 'send', to: everyone, commands: [{ type: 'MEMBERS', peerIds: ids }] });
      if (!existing) enqueue.emit({ type: 'memberJoined', peerId: event.peerId, members: ids });
      if (!sameList(standbys, context.standbys)) enqueue.emit({ type: 'standbysChanged', standbys });
      enqueue.emit({ type: 'announce' });
    }),

    /** SAY (draft tables 2, 3) or RELAY, accepted at once. */
    say: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SAY' && event.type !== 'RELAY') return;
      const message = incoming(context, event);
      if (!message) return;
      const { nextSeq, history, sends } = accept(context, [message]);
      enqueue.assign({ nextSeq, history });
      for (const send of sends) enqueue.emit(send);
    }),

    /**
     * While relays arrive after a takeover or a split brain, messages wait:
     * several members relay overlapping parts of one history, and only
     * together, sorted by the seq they had, do they keep every author's
     * order; SAYs that arrive meanwhile (outbox re-sends among them) are
     * newer than anything relayed, so they follow. Seqs of different hosts'
     * histories do not compare, so the merge finally puts each author's
     * messages in the order their msgIds say they were said (inAuthorOrder).
     */
    hold: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SAY' && event.type !== 'RELAY') return;
      const message = incoming(context, event);
      if (!message) return;
      enqueue.assign({ held: [...context.held, message] });
    }),

    releaseHeld: enqueueActions(({ context, enqueue }) => {
      const relays = context.held.filter((m) => m.relayed);
      const says = context.held.filter((m) => !m.relayed);
      // A stable sort: relays without a seq (older peers) keep arrival order.
      const ordered = [...relays].sort((a, b) => (a.relayedSeq ?? Infinity) - (b.relayedSeq ?? Infinity));
      const { nextSeq, history, sends } = accept(context, inAuthorOrder([...ordered, ...says]));
      enqueue.assign({ nextSeq, history, held: [] });
      for (const send of sends) enqueue.emit(send);
      // After what it accepted, each member that relayed learns that its
      // relays are decided: the ones it did not get back were turned down.
      // Only this answer tells it so; a SAY sent before its relays arrived
      // may reach it after it sent them (history.ts mirrorLive).
      const relayers = [...new Set(relays.map((m) => m.connId))].filter((connId) => memberOf(context, connId) !== undefined);
      if (relayers.length > 0) enqueue.emit({ type: 'send', to: relayers, commands: [{ type: 'MERGED' }] });
    }),

    /** EXIT (draft table 5) or a closed connection: the member is gone. */
    leave: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'EXIT' && event.type !== 'CONNECTION_CLOSED') return;
      const leaving = memberOf(context, event.connId);
      if (!leaving) return;
      const members = context.members.filter((m) => m.connId !== event.connId);
      const ids = memberIds(members);
      const standbys = rankStandbys(context.channel, ids, context.hostId, event.loads, context.standbyCount);
      enqueue.assign({ members, standbys, fanOut: fanOutOrder(members, standbys), loads: event.loads });
      const reason = event.type === 'EXIT' ? 'exit' : 'connection closed';
      // One connection per channel: with its membership over, the server
      // closes the connection (draft 2.1, EXIT).
      if (event.type === 'EXIT') enqueue.emit({ type: 'close', connId: event.connId, reason: 'exit' });
      const everyone = members.map((m) => m.connId);
      if (everyone.length > 0) {
        if (!sameList(standbys, context.standbys) && standbys.length > 0) {
          enqueue.emit({ type: 'send', to: everyone, commands: [{ type: 'STANDBY', peerIds: [...standbys] }] });
        }
        enqueue.emit({ type: 'send', to: everyone, commands: [{ type: 'MEMBERS', peerIds: ids }] });
      }
      enqueue.emit({ type: 'memberLeft', peerId: leaving.peerId, members: ids, reason });
      if (!sameList(standbys, context.standbys)) enqueue.emit({ type: 'standbysChanged', standbys });
      enqueue.emit({ type: 'announce' });
    }),

    /** A standby that died is replaced at once, not at the next JOIN. */
    rerank: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'PEERS_CHANGED') return;
      enqueue.assign({ loads: event.loads });
      const lost = context.standbys.some((id) => event.loads.get(id)?.alive !== true);
      if (!lost) return;
      const standbys = rankStandbys(context.channel, memberIds(context.members), context.hostId, event.loads, context.standbyCount);
      if (sameList(standbys, context.standbys)) return;
      enqueue.assign({ standbys, fanOut: fanOutOrder(context.members, standbys) });
      if (standbys.length > 0) {
        enqueue.emit({ type: 'send', to: context.members.map((m) => m.connId), commands: [{ type: 'STANDBY', peerIds: [...standbys] }] });
      }
      enqueue.emit({ type: 'standbysChanged', standbys });
      enqueue.emit({ type: 'announce' });
    }),

    /** INVITE (draft table 6): the server multicasts it in its PeerPDU. */
    invite: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'INVITE') return;
      const by = memberOf(context, event.connId);
      if (!by) return;
      enqueue.emit({ type: 'invited', by: by.peerId, peerIds: event.peerIds });
      enqueue.emit({ type: 'announce' });
    }),

    closeAll: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
      for (const m of context.members) enqueue.emit({ type: 'close', connId: m.connId, reason: params.reason });
    }),

    /** Split brain lost: tell every member where the channel lives now. */
    moveMembers: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RIVAL_HOST') return;
      const everyone = context.members.map((m) => m.connId);
      if (everyone.length > 0) {
        enqueue.emit({ type: 'send', to: everyone, commands: [{ type: 'MOVED', hostId: event.hostId, epoch: event.epoch }] });
      }
    }),
  },
}).createMachine({
  id: 'channelHost',
  context: ({ input }) => {
    const lastSeq = input.history.reduce((max, h) => Math.max(max, h.seq), 0);
    const seen = seenWindowFor(input.historyLimit, input.seenAsMember);
    for (const h of input.history) seen.add(messageKey(h.authorId, h.msgId));
    // A takeover starts from its member's history; relays that member still
    // waited on are ours now (the host they went to is gone), and they stay
    // relays: counted as said, they pushed this side's said messages out of
    // the window (F15: seed 196, 10 nodes, 2 min, --rate 50).
    const history = input.history.map(({ pending, ...h }) => (pending ? { ...h, relayed: true } : h));
    return { ...input, history, members: [], standbys: [], fanOut: [], held: [], nextSeq: nextNumber(lastSeq), seen };
  },
  initial: 'opening',
  states: {
    // A channel is created by its first JOIN (draft 2.1); a takeover host
    // waits here for the first member to rejoin. Its own member's JOIN
    // follows at once, so a host nobody joins within the timeout has
    // nobody coming: its user left first, say. It closes as an empty
    // channel does (until December 2026 it was announced for good, F22).
    opening: {
      on: {
        JOIN: { target: 'hosting', actions: 'join' },
        RIVAL_HOST: { guard: 'rivalWins', target: 'yielded' },
        STOP: { target: 'stopped' },
      },
      after: { openingTimeout: { target: 'closed' } },
    },
    hosting: {
      on: {
        // Refused, the joiner is told by its closed connection (5.1), and
        // tries again later, as for any host it cannot join.
        JOIN: [{ guard: 'channelFull', actions: emit(({ event }) => ({ type: 'close' as const, connId: event.connId, reason: 'channel full' })) }, { actions: 'join' }],
        INVITE: { guard: 'isMember', actions: 'invite' },
        EXIT: [
          { guard: 'isMember', actions: 'leave' },
          // EXIT from a connection that is no member: just close it.
          { actions: emit(({ event }) => ({ type: 'close' as const, connId: event.connId, reason: 'exit' })) },
        ],
        CONNECTION_CLOSED: { actions: 'leave' },
        PEERS_CHANGED: { actions: 'rerank' },
        RIVAL_HOST: { guard: 'rivalWins', target: 'yielded' },
        STOP: { target: 'stopped' },
      },
      // Draft 2.1 leaves the last EXIT undefined. chanmesh: the channel closes
      // (it leaves the PeerPDU and its history is dropped); a later JOIN
      // creates it afresh.
      always: { guard: 'noMembersLeft', target: 'closed' },
      initial: 'starting',
      states: {
        // A takeover host merges from its first JOIN on, relays or not: the
        // old host's members rejoin within moments of each other (they
        // suspect it within a PDU interval), and each one re-sends its
        // outbox. Taken at once, a burst of re-sends can push a message out
        // of the history before the last member's WELCOME; held, every
        // member that is back by then gets it live (seed 3 with --history
        // 10 --rate 50: 11 re-sends in 6 ms, and the member that rejoined
        // 4 ms after them never got the first).
        starting: {
          always: [{ guard: 'tookOver', target: 'merging' }, { target: 'live' }],
        },
        live: {
          on: {
            SAY: { guard: 'isMember', actions: 'say' },
            RELAY: { guard: 'isMember', target: 'merging', actions: 'hold' },
          },
        },
        merging: {
          on: {
            SAY: [{ guard: 'heldFull', target: 'live', actions: ['hold', 'releaseHeld'] }, { guard: 'isMember', actions: 'hold' }],
            RELAY: [{ guard: 'heldFull', target: 'live', actions: ['hold', 'releaseHeld'] }, { guard: 'isMember', actions: 'hold' }],
          },
          after: { relayWindow: { target: 'live', actions: 'releaseHeld' } },
        },
      },
    },
    closed: {
      type: 'final',
      entry: [emit({ type: 'closed', reason: 'empty' }), emit({ type: 'announce' })],
    },
    yielded: {
      type: 'final',
      entry: [
        'moveMembers',
        { type: 'closeAll', params: { reason: 'channel moved (split brain lost)' } },
        assign({ members: [], fanOut: [] }),
        emit(({ event }) =>
          event.type === 'RIVAL_HOST'
            ? { type: 'closed' as const, reason: 'yielded' as const, winner: event.hostId, winnerEpoch: event.epoch }
            : { type: 'closed' as const, reason: 'yielded' as const },
        ),
        emit({ type: 'announce' }),
      ],
    },
    stopped: {
      type: 'final',
      entry: [{ type: 'closeAll', params: { reason: 'node stopping' } }, emit({ type: 'closed', reason: 'stopped' })],
    },
  },
});
