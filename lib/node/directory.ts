// What a node knows of the network's channels from PeerPDUs (draft 2.2: "for
// every channel in the network: channelName, memberlist and serverId"), and
// the load figures the standby ranking uses. Derived data only, kept per
// peer: a peer's PDU replaces its own entries and nothing else (a starting
// cluster of N nodes changes N^2 entries, so no change may cost O(peers)).
//
// A private channel is known by its blinded tag (lib/wire/hidden-tag.ts):
// its hostings are kept under the tag, which no channel name can equal (a
// name begins with '#' or '@'), and only a node that knows the name asks
// for it.
import { sameList } from '../lists.ts';
import { isChannelName } from '../wire/names.ts';
import type { PeerPdu } from '../wire/peer-pdu.ts';
import { hostingWins, type Hosting, type PeerLoad, type PeerLoads } from '../../machines/rules.ts';

export interface ChannelAnnouncement extends Hosting {
  name: string;
  standbys: readonly string[];
  members: readonly string[];
}

export interface KnownPeer {
  peerId: string;
  port: number;
  alive: boolean;
  pdu?: PeerPdu;
}

export class Directory {
  private readonly hostings = new Map<string, ChannelAnnouncement[]>();
  private readonly peers = new Map<string, { load: PeerLoad; port: number; pdu: PeerPdu | undefined; hosted: readonly string[] }>();
  /** The loads as one immutable map (machines keep it in their context), made when asked for after a change. */
  private loadsView: PeerLoads | undefined;

  /** Enter or replace what one peer announces (the own node's hostings are added by the caller). */
  set(peer: KnownPeer): void {
    const known = this.peers.get(peer.peerId);
    if (known && known.port === peer.port && known.load.alive === peer.alive && sameDirectoryInput(known.pdu, peer.pdu)) return;
    this.remove(peer.peerId);
    const pdu = peer.pdu;
    const joined = new Set(pdu?.memberships.flatMap((m) => m.channels) ?? []);
    const hosted: string[] = [];
    if (pdu && peer.alive) {
      for (const c of pdu.channels) this.addHosting(hosted, { name: c.name, hostId: peer.peerId, epoch: c.epoch, standbys: c.standbys, members: c.members });
      for (const h of pdu.hidden) this.addHosting(hosted, { name: h.tag, hostId: peer.peerId, epoch: h.epoch, standbys: [], members: [] });
    }
    const load = { canHost: peer.port > 0, alive: peer.alive, hosted: (pdu?.channels.length ?? 0) + (pdu?.hidden.length ?? 0), joined };
    this.peers.set(peer.peerId, { load, port: peer.port, pdu, hosted });
    this.loadsView = undefined;
  }

  private addHosting(hosted: string[], announcement: ChannelAnnouncement): void {
    let list = this.hostings.get(announcement.name);
    if (list === undefined) this.hostings.set(announcement.name, (list = []));
    list.push(announcement);
    hosted.push(announcement.name);
  }

  /** Forget a peer (removed from the peer table). */
  remove(peerId: string): void {
    const known = this.peers.get(peerId);
    if (known === undefined) return;
    for (const name of known.hosted) {
      const list = this.hostings.get(name)!.filter((a) => a.hostId !== peerId);
      if (list.length > 0) this.hostings.set(name, list);
      else this.hostings.delete(name);
    }
    this.peers.delete(peerId);
    this.loadsView = undefined;
  }

  get loads(): PeerLoads {
    this.loadsView ??= new Map([...this.peers].map(([peerId, { load }]) => [peerId, load]));
    return this.loadsView;
  }

  /** Every live announcement of a channel (more than one: a split brain); a private channel by its tag. */
  announcements(channel: string): readonly ChannelAnnouncement[] {
    return this.hostings.get(channel) ?? [];
  }

  /** The hosting every node agrees on: the split-brain rule's winner. */
  winner(channel: string): ChannelAnnouncement | undefined {
    let best: ChannelAnnouncement | undefined;
    for (const a of this.announcements(channel)) if (!best || hostingWins(a, best)) best = a;
    return best;
  }

  /** The announced public channels (private ones are only tags here). */
  *channels(): IterableIterator<[string, ChannelAnnouncement[]]> {
    for (const entry of this.hostings) if (isChannelName(entry[0])) yield entry;
  }
}

/** Whether two PDUs of one peer agree on everything the Directory reads (port, hosted channels, memberships). */
function sameDirectoryInput(a: PeerPdu | undefined, b: PeerPdu | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.port !== b.port || a.channels.length !== b.channels.length || a.memberships.length !== b.memberships.length) return false;
  if (a.hidden.length !== b.hidden.length) return false;
  for (let i = 0; i < a.hidden.length; i++) if (a.hidden[i]!.tag !== b.hidden[i]!.tag || a.hidden[i]!.epoch !== b.hidden[i]!.epoch) return false;
  for (let i = 0; i < a.channels.length; i++) {
    const x = a.channels[i]!;
    const y = b.channels[i]!;
    if (x.name !== y.name || x.epoch !== y.epoch || !sameList(x.standbys, y.standbys) || !sameList(x.members, y.members)) return false;
  }
  for (let i = 0; i < a.memberships.length; i++) {
    const x = a.memberships[i]!;
    const y = b.memberships[i]!;
    if (x.host !== y.host || !sameList(x.channels, y.channels)) return false;
  }
  return true;
}
