// Discovery (draft 2.2, 2.4): the peer table and when to announce.
//
// - Announce: while `announcing`, the invoked announcer service multicasts
//   our PeerPDU at once and then every interval (lib/node/announcer.ts); soon
//   after anything we announce changed, the state is re-entered, which
//   announces again (changes within a few ms are coalesced into one PDU).
// - Listen: the peer table. A new peer or incarnation enters it (and gets
//   its figure-6 liveness actor, machines/peer-liveness.ts, which the node
//   runs beside this machine: lib/node/liveness-actors.ts); a new
//   incarnation replaces the entry; a disconnected peer leaves it; the table
//   is bounded. Datagrams reach this machine through the node's PDU intake
//   (lib/node/peer-intake.ts), which drops stale ones and passes on only news
//   of the peer itself: its first datagram, a new incarnation, address, nick
//   or port. What a peer announces (its channels, memberships, invites) goes
//   from the intake to the node's directory: this machine decides who is
//   there, not what they say.
//
// The liveness actors are not this machine's children: XState copies a
// machine's children (one object) into every snapshot that spawns or stops
// one, so with a child per peer every peer that came or went cost time in
// proportion to the table, 3 ms at 1,000 peers (bench:discovery).
import { enqueueActions, fromCallback, setup, type EventObject } from 'xstate';
import type { Endpoint } from '../lib/net/transport.ts';
import { LONGEST_PDU_INTERVAL_MS } from '../lib/wire/limits.ts';
import type { PeerPduPart } from '../lib/wire/peer-pdu.ts';
import type { PeerDisconnected } from './peer-liveness.ts';

export interface DiscoveryInput {
  peerId: string;
  pduIntervalMs: number;
  /** X of figure 6. */
  livenessTimeoutMs: number;
  maxPeers: number;
}

/** Input of the `announcer` service. */
export interface AnnouncerInput {
  intervalMs: number;
}

/** The service a node must provide: announce now, then every interval, until stopped. */
export const announcerService = fromCallback<EventObject, AnnouncerInput>(() => {
  throw new Error('discoveryMachine: provide the announcer service (see lib/node/announcer.ts)');
});

export interface PeerRecord {
  peerId: string;
  incarnation: number;
  address: string;
  nick: string;
  port: number;
  /**
   * X of figure 6 for this peer: the larger of ours and the interval the
   * peer announces, so a peer that announces every 400 ms is not suspected
   * by a node that does so every 250; an announced interval counts for at
   * most an hour (LONGEST_PDU_INTERVAL_MS), so that no datagram keeps a
   * table entry for months or arms a timer Node cannot wait.
   */
  timeoutMs: number;
}

export interface DiscoveryContext extends DiscoveryInput {
  /**
   * The peer table. Owned by this actor (made by the context factory) and
   * updated in place, where copying a table of hundreds of peers for every
   * change would dominate (a cluster starting up discovers N^2 peers);
   * entries are added and removed only inside assign, and a known peer's
   * address, nick and port are updated on its record in receivePdu.
   */
  peers: Map<string, PeerRecord>;
}

export type DiscoveryEvent =
  | { type: 'PDU_RECEIVED'; part: PeerPduPart; from: Endpoint }
  | PeerDisconnected
  | { type: 'ANNOUNCE' };

export type DiscoveryEmitted =
  | { type: 'peerDiscovered'; peer: PeerRecord }
  | { type: 'peerRestarted'; peer: PeerRecord; previousIncarnation: number }
  /** Figure 6's disconnected, and so out of the table ("may be deleted from the peer list"): one event for both. */
  | { type: 'peerDisconnected'; peerId: string; failTimer: number }
  | { type: 'peerRejected'; peerId: string; address: string; reason: 'table full' };

/** Changes within this window go out in one PDU. */
const ANNOUNCE_COALESCE_MS = 5;

export const discoveryMachine = setup({
  types: {
    context: {} as DiscoveryContext,
    events: {} as DiscoveryEvent,
    input: {} as DiscoveryInput,
    emitted: {} as DiscoveryEmitted,
  },
  actors: { announcer: announcerService },
  delays: {
    coalesce: ANNOUNCE_COALESCE_MS,
  },
  actions: {
    receivePdu: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'PDU_RECEIVED') return;
      const { part, from } = event;
      // Our own id never enters the table: the node answers another
      // process with it before anything gets here (ownIdVerdict).
      if (part.peerId === context.peerId) return;
      const record = context.peers.get(part.peerId);
      // (Stale datagrams, of an older incarnation or round, never get here.)
      if (record && part.incarnation !== record.incarnation) {
        // Restarted: forget everything about the old incarnation.
        const previousIncarnation = record.incarnation;
        enqueue.assign(({ context }) => ({ peers: withRecord(context, part, from) }));
        enqueue.emit(({ context }) => ({ type: 'peerRestarted' as const, peer: { ...context.peers.get(part.peerId)! }, previousIncarnation }));
      } else if (!record) {
        if (context.peers.size >= context.maxPeers) {
          enqueue.emit({ type: 'peerRejected', peerId: part.peerId, address: from.address, reason: 'table full' });
          return;
        }
        enqueue.assign(({ context }) => ({ peers: withRecord(context, part, from) }));
        enqueue.emit(({ context }) => ({ type: 'peerDiscovered' as const, peer: { ...context.peers.get(part.peerId)! } }));
      } else {
        // A new address, nick or port. (Liveness is not this machine's
        // business: the intake's silence watch has heard this datagram.)
        record.address = from.address;
        record.nick = part.nick;
        record.port = part.port;
      }
    }),

    // Figure 6: a disconnected peer "may be deleted from the peer list".
    disconnected: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'PEER_DISCONNECTED') return;
      const record = context.peers.get(event.peerId);
      if (!record) return;
      enqueue.emit({ type: 'peerDisconnected', peerId: event.peerId, failTimer: event.failTimer });
      enqueue.assign(({ context }) => {
        context.peers.delete(event.peerId);
        return {};
      });
    }),
  },
}).createMachine({
  id: 'discovery',
  context: ({ input }) => ({ ...input, peers: new Map() }),
  on: {
    PDU_RECEIVED: { actions: 'receivePdu' },
    PEER_DISCONNECTED: { actions: 'disconnected' },
  },
  initial: 'announcing',
  states: {
    announcing: {
      invoke: { src: 'announcer', input: ({ context }) => ({ intervalMs: context.pduIntervalMs }) },
      on: { ANNOUNCE: { target: 'announcePending' } },
    },
    announcePending: {
      after: { coalesce: { target: 'announcing' } },
    },
  },
});

/** The table with a fresh record for the sender (in place: see DiscoveryContext.peers). */
function withRecord(context: DiscoveryContext, part: PeerPduPart, from: Endpoint): Map<string, PeerRecord> {
  const record: PeerRecord = {
    peerId: part.peerId,
    incarnation: part.incarnation,
    address: from.address,
    nick: part.nick,
    port: part.port,
    timeoutMs: Math.max(context.livenessTimeoutMs, Math.min(part.interval, LONGEST_PDU_INTERVAL_MS)),
  };
  return context.peers.set(part.peerId, record);
}
