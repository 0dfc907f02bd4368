// Invites (draft 2.3 INVITE, carried in PeerPDUs), both ways, each in a
// bounded memory, for both come off the network.
//
// InvitesOut: what this node announces as the host of the channels invited
// to. Each invited peer stays in its PDUs for inviteTtlMs; any member may
// send INVITE after INVITE, so at most MAX_PDU_INVITES channels (one PDU
// part's worth of entries) of at most MAX_INVITE_IDS peers each are
// announced at a time, the oldest replaced first.
//
// InvitesSeen: the invites other peers announced to this node, remembered
// so that the user is told of each once, and so that a /join of an invited
// private channel, which no PDU names, finds its host. Any peer can
// announce invites naming us, for any channel names it likes, one
// announcement after another, so the memory is bounded: once full, the
// invite announced longest ago is forgotten first (a PDU that announces
// something new and still carries an invite renews it). An invite pushed
// out by a flood and announced again is news again: the user is told
// again, which is better than a node that grows without end.
import { MAX_INVITE_IDS, MAX_PDU_INVITES } from '../wire/limits.ts';
import type { Invite } from '../wire/peer-pdu.ts';

/**
 * Put `value` at the back of `map` (the most recent), dropping the front
 * (the least recent) beyond `max`. True if `key` was there before.
 */
function renew<V>(map: Map<string, V>, key: string, value: V, max: number): boolean {
  const known = map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
  return known;
}

export class InvitesOut {
  /**
   * By channel, in the order last invited to; in each, the invited peers in
   * the order last invited, with when each leaves the PDU. One entry per
   * channel, because a PDU lists a channel's invite at its host once (3.2):
   * two INVITEs to one channel kept apart made our own PDU fail to encode
   * and the node fall silent for good (until 7 December 2026).
   */
  private readonly invites = new Map<string, { host: string; peers: Map<string, number> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = MAX_PDU_INVITES,
  ) {}

  /** A member of a channel we host invited `invite.peerIds` at `now`: each is announced from now for the TTL. */
  sent(invite: Invite, now: number): void {
    const entry = this.invites.get(invite.channel) ?? { host: invite.host, peers: new Map<string, number>() };
    for (const peerId of invite.peerIds) renew(entry.peers, peerId, now + this.ttlMs, MAX_INVITE_IDS);
    renew(this.invites, invite.channel, entry, this.max);
  }

  /** What to announce at `now`: each channel's invited peers whose time is not up (the rest are forgotten). */
  current(now: number): Invite[] {
    const out: Invite[] = [];
    for (const [channel, { host, peers }] of this.invites) {
      for (const [peerId, expiresAt] of peers) if (expiresAt <= now) peers.delete(peerId);
      if (peers.size === 0) this.invites.delete(channel);
      else out.push({ channel, host, peerIds: [...peers.keys()] });
    }
    return out;
  }
}

/** Invites remembered at most (an invite is one channel name, one host id and up to 64 peer ids). */
export const INVITES_SEEN_MAX = 256;

export class InvitesSeen {
  /** By channel and host, in the order they were last announced. */
  private readonly invites = new Map<string, Invite>();

  constructor(private readonly max = INVITES_SEEN_MAX) {}

  /** An announced invite naming us. True when it is news: not remembered until now. */
  announced(invite: Invite): boolean {
    return !renew(this.invites, `${invite.channel}\u0000${invite.host}`, invite, this.max);
  }

  /** The host of the invite to `channel` announced last. */
  hostOf(channel: string): string | undefined {
    let host: string | undefined;
    for (const invite of this.invites.values()) if (invite.channel === channel) host = invite.host;
    return host;
  }

  get size(): number {
    return this.invites.size;
  }
}
