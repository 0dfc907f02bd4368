// Reassembling PeerPDU rounds from their datagrams (docs/protocol.md 3.2):
// the order of rounds, and the assembler with its bounds on what strangers
// can make a receiver hold.
import { sameList } from '../lists.ts';
import { MAX_INVITE_IDS, MAX_MEMBERS, MAX_PDU_PARTS, MAX_PEERS_DEFAULT, MAX_PENDING_PDU_PARTS } from './limits.ts';
import { inviteKey, MAX_MEMBERSHIP_CHANNELS, PDU_VERSION, type HiddenHosting, type HostedChannel, type Invite, type Membership, type PeerPdu, type PeerPduPart } from './peer-pdu.ts';

// ------------------------------------------------------------- rounds

/**
 * The order of a peer's PDU rounds (3.2, 4): by incarnation, then seq.
 * Negative when `a` is older than `b`, 0 for the same round. The assembler
 * and the node's intake both order rounds by this one rule.
 */
export function roundOrder(a: { incarnation: number; seq: number }, b: { incarnation: number; seq: number }): number {
  return a.incarnation !== b.incarnation ? a.incarnation - b.incarnation : a.seq - b.seq;
}

// ------------------------------------------------------------- reassembly

interface Round {
  incarnation: number;
  seq: number;
  parts: number;
  slots: (PeerPduPart | undefined)[];
  received: number;
  /** Applied, dropped or evicted: later parts of this round, and older rounds, are ignored. */
  done: boolean;
}

/**
 * Reassembles PDU rounds from parts, one round per peer.
 *
 * - A round (peerId, incarnation, seq) completes when all `parts` parts
 *   arrived, in any order; add() then returns the whole PeerPdu. A
 *   single-part round returns at once.
 * - Rounds are ordered by (incarnation, seq): incarnations grow with every
 *   start of a peer id (3.2). A part of a newer round (a higher seq, or a
 *   higher incarnation whatever its seq) discards the pending round of that
 *   peer; a part of an older round (a lower incarnation is a late datagram
 *   of a dead process), a duplicate part, and any part of a round already
 *   returned are ignored. Call forget() when the peer table drops a peer.
 * - Slices of one entry are concatenated in part order: members of
 *   same-named channels, channels of same-host memberships, peer ids of
 *   same (channel, host) invites. A round whose parts disagree (base fields,
 *   part counts, a channel's epoch or standbys) or whose concatenated lists
 *   exceed their bounds is dropped (counted in `invalidRounds`).
 * - At most `maxPending` peers are tracked (pending and last-done rounds);
 *   beyond that the least recently updated peer is forgotten.
 * - At most `maxPendingParts` (MAX_PENDING_PDU_PARTS) parts are held in
 *   pending rounds, over all peers together; beyond that the least recently
 *   updated pending round is evicted (counted in `evictedRounds`): its parts
 *   are let go and its later parts ignored, as for a dropped round; the
 *   peer's next round starts afresh. A pending round holds at most
 *   MAX_PDU_PARTS - 1 parts and the budget is at least that, so the round
 *   a part was just added to is never the one evicted.
 *
 * Parts are expected from decodePeerPduPart; anything else is ignored.
 */
export class PduAssembler {
  readonly maxPending: number;
  readonly maxPendingParts: number;
  /** Every tracked peer's newest round, least recently updated first. */
  private readonly rounds = new Map<string, Round>();
  /** The rounds of `rounds` not done yet, least recently updated first. */
  private readonly pending = new Map<string, Round>();
  /** Parts held by the rounds of `pending`: the sum of their `received`. */
  private held = 0;
  private invalid = 0;
  private evicted = 0;

  constructor(maxPending = MAX_PEERS_DEFAULT, maxPendingParts = MAX_PENDING_PDU_PARTS) {
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new Error(`PduAssembler: maxPending must be a positive integer, got ${maxPending}`);
    }
    if (!Number.isInteger(maxPendingParts) || maxPendingParts < MAX_PDU_PARTS - 1) {
      throw new Error(`PduAssembler: maxPendingParts must be an integer of at least ${MAX_PDU_PARTS - 1} (one round), got ${maxPendingParts}`);
    }
    this.maxPending = maxPending;
    this.maxPendingParts = maxPendingParts;
  }

  /** Rounds dropped because their parts were inconsistent. */
  get invalidRounds(): number {
    return this.invalid;
  }

  /** Pending rounds dropped to keep `pendingParts` within `maxPendingParts`. */
  get evictedRounds(): number {
    return this.evicted;
  }

  /** Peers currently tracked (at most maxPending). */
  get size(): number {
    return this.rounds.size;
  }

  /** Parts held by incomplete rounds, over all peers (at most maxPendingParts). */
  get pendingParts(): number {
    return this.held;
  }

  add(part: PeerPduPart): PeerPdu | undefined {
    if (!Number.isInteger(part.parts) || !Number.isInteger(part.part)) return undefined;
    if (part.parts < 1 || part.parts > MAX_PDU_PARTS || part.part < 0 || part.part >= part.parts) return undefined;
    let round = this.rounds.get(part.peerId);
    const order = round === undefined ? 1 : roundOrder(part, round);
    if (order < 0) return undefined;
    if (order === 0) {
      if (round!.done || round!.slots[part.part] !== undefined) return undefined;
      this.touch(part.peerId, round!);
      if (part.parts !== round!.parts) return this.drop(part.peerId, round!);
      return this.hold(part.peerId, round!, part);
    }
    // A newer round: the pending one, if any, is let go.
    if (round !== undefined) this.release(part.peerId, round);
    // A newer round, or a peer not tracked yet: this part starts a round.
    round = {
      incarnation: part.incarnation,
      seq: part.seq,
      parts: part.parts,
      slots: new Array<PeerPduPart | undefined>(part.parts).fill(undefined),
      received: 0,
      done: false,
    };
    this.touch(part.peerId, round);
    return this.hold(part.peerId, round, part);
  }

  forget(peerId: string): void {
    const round = this.rounds.get(peerId);
    if (round === undefined) return;
    this.release(peerId, round);
    this.rounds.delete(peerId);
  }

  /** Stores `part` in the pending `round`: completes it, or keeps the parts held within the budget. */
  private hold(peerId: string, round: Round, part: PeerPduPart): PeerPdu | undefined {
    round.slots[part.part] = part;
    round.received++;
    this.held++;
    if (round.received === round.parts) return this.complete(peerId, round);
    while (this.held > this.maxPendingParts) {
      // Never `round` itself: it holds at most MAX_PDU_PARTS - 1 <= maxPendingParts parts, and is the last entry.
      const [oldest, victim] = this.pending.entries().next().value!;
      this.release(oldest, victim);
      this.evicted++;
    }
    return undefined;
  }

  /** Marks `peerId` most recently updated; forgets the least recently updated peer beyond the bound. */
  private touch(peerId: string, round: Round): void {
    this.rounds.delete(peerId);
    this.rounds.set(peerId, round);
    if (!round.done) {
      this.pending.delete(peerId);
      this.pending.set(peerId, round);
    }
    if (this.rounds.size > this.maxPending) {
      const [oldest, stale] = this.rounds.entries().next().value!;
      this.release(oldest, stale);
      this.rounds.delete(oldest);
    }
  }

  /** Ends `round`: lets go of its parts (if it was pending); later parts of it are ignored. */
  private release(peerId: string, round: Round): void {
    if (!round.done) {
      this.held -= round.received;
      this.pending.delete(peerId);
    }
    round.done = true;
    round.slots = [];
  }

  private drop(peerId: string, round: Round): undefined {
    this.release(peerId, round);
    this.invalid++;
    return undefined;
  }

  private complete(peerId: string, round: Round): PeerPdu | undefined {
    const slots = round.slots as PeerPduPart[];
    this.release(peerId, round);
    const pdu = assemble(slots);
    if (pdu === undefined) this.invalid++;
    return pdu;
  }
}

/** Merges the parts of one round (in part order); undefined if they are inconsistent. */
function assemble(parts: readonly PeerPduPart[]): PeerPdu | undefined {
  const first = parts[0]!;
  if (parts.length === 1) {
    const { peerId, incarnation, seq, rev, nick, port, interval, channels, memberships, invites, hidden } = first;
    return { version: PDU_VERSION, peerId, incarnation, seq, rev, nick, port, interval, channels, memberships, invites, hidden };
  }
  const channels = new Map<string, HostedChannel>();
  const memberships = new Map<string, Membership>();
  const invites = new Map<string, Invite>();
  const hidden = new Map<string, HiddenHosting>();
  for (const p of parts) {
    if (p.rev !== first.rev || p.nick !== first.nick || p.port !== first.port || p.interval !== first.interval) return undefined;
    for (const c of p.channels) {
      const known = channels.get(c.name);
      if (known === undefined) {
        channels.set(c.name, { name: c.name, epoch: c.epoch, standbys: c.standbys.slice(), members: c.members.slice() });
        continue;
      }
      if (known.epoch !== c.epoch || !sameList(known.standbys, c.standbys)) return undefined;
      if (known.members.length + c.members.length > MAX_MEMBERS) return undefined;
      known.members.push(...c.members);
    }
    for (const m of p.memberships) {
      const known = memberships.get(m.host);
      if (known === undefined) {
        memberships.set(m.host, { host: m.host, channels: m.channels.slice() });
        continue;
      }
      if (known.channels.length + m.channels.length > MAX_MEMBERSHIP_CHANNELS) return undefined;
      known.channels.push(...m.channels);
    }
    for (const i of p.invites) {
      const key = inviteKey(i);
      const known = invites.get(key);
      if (known === undefined) {
        invites.set(key, { channel: i.channel, host: i.host, peerIds: i.peerIds.slice() });
        continue;
      }
      if (known.peerIds.length + i.peerIds.length > MAX_INVITE_IDS) return undefined;
      known.peerIds.push(...i.peerIds);
    }
    // Never sliced: one tag in two parts is a round that contradicts itself.
    for (const h of p.hidden) {
      if (hidden.has(h.tag)) return undefined;
      hidden.set(h.tag, { tag: h.tag, epoch: h.epoch });
    }
  }
  return {
    version: PDU_VERSION,
    peerId: first.peerId,
    incarnation: first.incarnation,
    seq: first.seq,
    rev: first.rev,
    nick: first.nick,
    port: first.port,
    interval: first.interval,
    channels: [...channels.values()],
    memberships: [...memberships.values()],
    invites: [...invites.values()],
    hidden: [...hidden.values()],
  };
}
