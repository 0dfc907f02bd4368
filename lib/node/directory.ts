// What a node knows of the network's channels from PeerPDUs (draft 2.2: "for
// every channel in the network: channelName, memberlist and serverId"), and
// the load figures the standby ranking uses. Derived data only: rebuilt from
// the peer table when a peer's PDU or liveness changes.
import { sameList } from '../lists.ts';
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
  private hostings = new Map<string, ChannelAnnouncement[]>();
  private peerLoads: Map<string, PeerLoad> = new Map();

  /** Rebuild from every known peer (the own node's hostings are added by the caller). */
  rebuild(peers: Iterable<KnownPeer>): void {
    const hostings = new Map<string, ChannelAnnouncement[]>();
    const loads = new Map<string, PeerLoad>();
    for (const peer of peers) {
      const pdu = peer.pdu;
      const joined = new Set(pdu?.memberships.flatMap((m) => m.channels) ?? []);
      loads.set(peer.peerId, { canHost: peer.port > 0, alive: peer.alive, hosted: pdu?.channels.length ?? 0, joined });
      if (!pdu || !peer.alive) continue;
      for (const c of pdu.channels) {
        const list = hostings.get(c.name) ?? [];
        list.push({ name: c.name, hostId: peer.peerId, epoch: c.epoch, standbys: c.standbys, members: c.members });
        hostings.set(c.name, list);
      }
    }
    this.hostings = hostings;
    this.peerLoads = loads;
  }

  get loads(): PeerLoads {
    return this.peerLoads;
  }

  /** Every live announcement of a channel (more than one: a split brain). */
  announcements(channel: string): readonly ChannelAnnouncement[] {
    return this.hostings.get(channel) ?? [];
  }

  /** The hosting every node agrees on: the split-brain rule's winner. */
  winner(channel: string): ChannelAnnouncement | undefined {
    let best: ChannelAnnouncement | undefined;
    for (const a of this.announcements(channel)) if (!best || hostingWins(a, best)) best = a;
    return best;
  }

  channels(): IterableIterator<[string, ChannelAnnouncement[]]> {
    return this.hostings.entries();
  }
}

/** Whether two PDUs of one peer agree on everything the Directory reads (port, hosted channels, memberships). */
export function sameDirectoryInput(a: PeerPdu, b: PeerPdu): boolean {
  if (a.port !== b.port || a.channels.length !== b.channels.length || a.memberships.length !== b.memberships.length) return false;
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
