// The protocol's small decision rules, each in one place, used by the
// machines' guards and by the node when it reads the channel directory.
import { MAX_WIRE_NUMBER } from '../lib/wire/limits.ts';

/**
 * `n` (an epoch or a seq, maybe from the wire) plus `step`, saturating at
 * 2^53-1, the largest wire number (docs/protocol.md 3.2, 2.3). A peer that
 * sends the largest number must not make our next epoch or seq one that no
 * encoder takes: a stranger's PDU announcing a channel at epoch 2^53-1 made
 * every member's takeover at epoch + 1 fail to encode its WELCOME, and the
 * processes ended (until 7 December 2026). At the top, takeovers tie on
 * the epoch and hostingWins falls back to the id; a host's seqs repeat,
 * which disorders only what that peer fed its own channel.
 */
export function nextNumber(n: number, step = 1): number {
  return Math.min(n + step, MAX_WIRE_NUMBER);
}

/**
 * What a node does on hearing its own peer id from another process
 * (docs/protocol.md 4, "One id, one process"):
 * - in its first detection time, after two rounds of one other
 *   incarnation (a live process, not one late datagram of a dead one):
 *   stop; it is the newcomer, the other was there first;
 * - later, of a higher incarnation: announce over it, at a higher one, or
 *   its peers take the newcomer's for a restart of ours and drop our PDUs
 *   as an older incarnation's, for good; but if it did so less than a
 *   detection time ago, stop: the other outbids too (it ran alone while
 *   we were frozen, say), and one of the two must give way;
 * - else wait (a first round) or ignore (a lower incarnation: a newcomer
 *   that will stop, or a recording).
 * A node in its first detection time never announces over another: two
 * that did would outbid each other at network speed.
 */
export type OwnIdVerdict = 'stop' | 'announce over it' | 'wait' | 'ignore';

export function ownIdVerdict(o: {
  incarnation: number;
  heard: { incarnation: number; rounds: number };
  sinceStartMs: number;
  /** Since this node last announced over another, or Infinity. */
  sinceOutbidMs: number;
  detectionMs: number;
}): OwnIdVerdict {
  if (o.sinceStartMs < o.detectionMs) return o.heard.rounds >= 2 ? 'stop' : 'wait';
  if (o.heard.incarnation <= o.incarnation) return 'ignore';
  return o.sinceOutbidMs < o.detectionMs ? 'stop' : 'announce over it';
}

/** A hosting of a channel: who hosts it at which epoch. */
export interface Hosting {
  hostId: string;
  epoch: number;
}

/**
 * Split-brain rule (docs/protocol.md 5.6): of two hostings of one channel,
 * the higher epoch wins; on a tie the lower host id (byte order) wins. Every
 * node evaluates it on the same announced data, so all agree on the winner.
 */
export function hostingWins(a: Hosting, b: Hosting): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return a.hostId < b.hostId;
}

/** What the standby ranking knows of a peer, from its PeerPDUs. */
export interface PeerLoad {
  /** It announces a TCP port, so it can host. */
  canHost: boolean;
  /** Not disconnected (figure 6). */
  alive: boolean;
  /** Channels it hosts. */
  hosted: number;
  /** Public channels it has joined (CLIENT-MEMBERSHIP). */
  joined: ReadonlySet<string>;
}

export type PeerLoads = ReadonlyMap<string, PeerLoad>;

/**
 * Standby ranking (docs/protocol.md 5.2): members that can host and are
 * alive; fewest channels hosted first, then fewest *other* channels joined
 * (this channel does not count, or a member would lose rank just by having
 * announced that it joined), then lowest id. Deterministic, so a ranking
 * only changes when the inputs do.
 */
export function rankStandbys(channel: string, members: readonly string[], hostId: string, loads: PeerLoads, k: number): string[] {
  const joinedElsewhere = (load: PeerLoad) => load.joined.size - (load.joined.has(channel) ? 1 : 0);
  const eligible: Array<{ id: string; load: PeerLoad }> = [];
  const seen = new Set<string>();
  for (const id of members) {
    if (id === hostId || seen.has(id)) continue;
    seen.add(id);
    const load = loads.get(id);
    if (load && load.canHost && load.alive) eligible.push({ id, load });
  }
  eligible.sort(
    (a, b) =>
      a.load.hosted - b.load.hosted ||
      joinedElsewhere(a.load) - joinedElsewhere(b.load) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return eligible.slice(0, k).map((e) => e.id);
}

/**
 * Failover target (docs/protocol.md 5.4): the first standby, in rank order,
 * that is alive and was not tried in this failover; if every standby is
 * gone, the lowest-id live member (every member computes the same one, so
 * the channel survives as long as one member that can host does). Whether
 * a member can host is not asked here: members' directories differ for a
 * while, and so would their picks; one that cannot is found out by trying
 * it (protocol section 8).
 */
export function chooseFailoverHost(options: {
  standbys: readonly string[];
  members: readonly string[];
  selfId: string;
  down: ReadonlySet<string>;
  tried: ReadonlySet<string>;
}): string | undefined {
  const { standbys, members, selfId, down, tried } = options;
  const usable = (id: string) => !down.has(id) && !tried.has(id);
  for (const id of standbys) if (usable(id)) return id;
  const rest = [...new Set([...members, selfId])].filter(usable).sort();
  return rest[0];
}

export type UnhostedJoinDecision =
  | { action: 'promote' }
  | { action: 'refuse'; reason: 'leaving the channel' | 'hosting limit reached' }
  | { action: 'redirect'; hostId: string; epoch: number }
  | { action: 'create'; epoch: number };

/**
 * A JOIN arrives for a channel this node does not host (docs/protocol.md 5.4):
 * - we are a member of it: a fellow member failing over chose us (as the
 *   first live standby, or by the fallback rule), which is evidence that the
 *   host is unreachable: take over with the next epoch and our history,
 *   unless an announced live host would win over that takeover; but a member
 *   that is leaving the channel will not take it over: refuse (the
 *   connection closes and the joiner tries its next candidate; F13);
 * - another live host announces it: send the joiner there (MOVED);
 * - nobody hosts it: create it (draft 2.1), unless this node hosts as many
 *   channels as it may (`canCreate` false): any client can JOIN any name,
 *   and every hosted channel is a machine here and an entry in every PDU,
 *   so a node that hosted all it was asked for would grow without end and,
 *   past what 48 datagrams carry, could no longer announce at all. Refuse.
 *   A takeover is not refused: the channel exists and its members need it.
 */
export function decideUnhostedJoin(options: {
  selfId: string;
  member?: { hostId?: string; epoch: number; leaving?: boolean };
  announced?: Hosting;
  /** This node may host one more new channel (config maxHostedChannels). */
  canCreate?: boolean;
}): UnhostedJoinDecision {
  const { selfId, member, announced, canCreate = true } = options;
  if (member) {
    // Unless a live host already holds the channel at a hosting our takeover
    // (epoch + 1) would lose to: that takeover only starts a split brain we
    // lose, and a member that knows no better host than itself would start
    // it again and again. Join the winner instead.
    const winning = announced && announced.hostId !== selfId && hostingWins(announced, { hostId: selfId, epoch: nextNumber(member.epoch) });
    // A member that is leaving will not take over (PROMOTE does nothing to
    // it): the joiner is better off with its next candidate.
    if (!winning) return member.leaving ? { action: 'refuse', reason: 'leaving the channel' } : { action: 'promote' };
  }
  if (announced && announced.hostId !== selfId) return { action: 'redirect', hostId: announced.hostId, epoch: announced.epoch };
  return canCreate ? { action: 'create', epoch: 1 } : { action: 'refuse', reason: 'hosting limit reached' };
}
