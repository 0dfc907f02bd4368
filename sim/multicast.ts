// Simulated UDP multicast: a datagram sent to a group endpoint reaches every
// socket that joined it, the sender's own included (IP_MULTICAST_LOOP), each
// copy with its own latency, loss, duplication and reordering. The SAME
// Buffer object is handed to every receiver: receivers must not mutate it
// (encode once, send many, as the real node does).

import type { DatagramGroup, Endpoint, GroupOptions } from '../lib/net/transport.ts';
import type { HostState } from './host-state.ts';
import { arrivalMs, type LinkModel } from './link-model.ts';
import type { LinkOptions } from './link-options.ts';
import type { Partitions } from './partitions.ts';
import type { Scheduler } from './scheduler.ts';

export interface DatagramCounters {
  /** send() calls that put a datagram on the wire. */
  datagramsSent: number;
  /** Copies addressed to group members, duplicates included. */
  datagramCopies: number;
  datagramsDuplicated: number;
  datagramsDelivered: number;
  datagramsDropped: {
    loss: number;
    partition: number;
    /** More than frozenDatagramsMax came due while the receiver was frozen. */
    frozenOverflow: number;
    /** The receiving socket was closed before the copy arrived. */
    closed: number;
    /** The receiver crashed with the copy in flight. */
    crashed: number;
    /** Larger than datagramBytesMax (UDP's EMSGSIZE). */
    oversize: number;
  };
}

export function emptyDatagramCounters(): DatagramCounters {
  return {
    datagramsSent: 0,
    datagramCopies: 0,
    datagramsDuplicated: 0,
    datagramsDelivered: 0,
    datagramsDropped: { loss: 0, partition: 0, frozenOverflow: 0, closed: 0, crashed: 0, oversize: 0 },
  };
}

/** One host's membership of one group: a joined, bound UDP socket. */
export class SimGroup implements DatagramGroup {
  closed = false;
  private readonly handlers: ((datagram: Buffer, from: Endpoint) => void)[] = [];

  constructor(
    private readonly multicast: Multicast,
    readonly host: HostState,
    readonly key: string,
    readonly port: number,
    /** Whether this socket's own datagrams come back to sockets on its host. */
    readonly loopback: boolean,
  ) {}

  send(datagram: Buffer): void {
    this.multicast.send(this, datagram);
  }

  onDatagram(handler: (datagram: Buffer, from: Endpoint) => void): void {
    this.handlers.push(handler);
  }

  close(): void {
    this.multicast.leave(this);
  }

  /** @internal */
  receive(datagram: Buffer, from: Endpoint): void {
    for (const handler of this.handlers) handler(datagram, from);
  }
}

export class Multicast {
  readonly counters = emptyDatagramCounters();
  /** "address:port" of a group -> its member sockets, in the order they joined. */
  private readonly members = new Map<string, SimGroup[]>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly link: LinkModel,
    private readonly partitions: Partitions,
    private readonly options: Required<LinkOptions>,
  ) {}

  join(host: HostState, options: GroupOptions): SimGroup {
    const key = `${options.group.address}:${options.group.port}`;
    const group = new SimGroup(this, host, key, options.group.port, options.loopback ?? true);
    let sockets = this.members.get(key);
    if (sockets === undefined) {
      sockets = [];
      this.members.set(key, sockets);
    }
    sockets.push(group);
    host.groups.add(group);
    return group;
  }

  leave(group: SimGroup): void {
    if (group.closed) return;
    group.closed = true;
    group.host.groups.delete(group);
    const sockets = this.members.get(group.key);
    if (sockets === undefined) return;
    const remaining = sockets.filter((socket) => socket !== group);
    if (remaining.length === 0) this.members.delete(group.key);
    else this.members.set(group.key, remaining);
  }

  send(sender: SimGroup, datagram: Buffer): void {
    if (sender.closed || !sender.host.alive) return;
    const counters = this.counters;
    if (datagram.length > this.options.datagramBytesMax) {
      counters.datagramsDropped.oversize++;
      return;
    }
    counters.datagramsSent++;
    const from: Endpoint = { address: sender.host.address, port: sender.port };
    for (const member of this.members.get(sender.key) ?? []) {
      if (member.host === sender.host && !sender.loopback) continue;
      this.transmit(sender.host, member, datagram, from);
      if (this.link.duplicated()) {
        counters.datagramsDuplicated++;
        this.transmit(sender.host, member, datagram, from);
      }
    }
  }

  /** One copy on its way to one socket. */
  private transmit(source: HostState, member: SimGroup, datagram: Buffer, from: Endpoint): void {
    const counters = this.counters;
    const destination = member.host;
    counters.datagramCopies++;
    if (this.partitions.blocks(source.id, destination.id)) {
      counters.datagramsDropped.partition++;
      return;
    }
    if (this.link.lost(this.scheduler.now())) {
      counters.datagramsDropped.loss++;
      return;
    }
    destination.datagramsInFlight++;
    let held = false;
    const arrive = (): void => {
      destination.datagramsInFlight--;
      if (held) destination.heldDatagrams--;
      if (member.closed) {
        counters.datagramsDropped.closed++;
      } else if (this.partitions.blocks(source.id, destination.id)) {
        counters.datagramsDropped.partition++; // the partition began while it was in flight
      } else {
        counters.datagramsDelivered++;
        member.receive(datagram, from);
      }
    };
    // A frozen host's socket buffer holds a bounded number; the rest are lost.
    const holdWhileFrozen = (): boolean => {
      if (destination.heldDatagrams >= this.options.frozenDatagramsMax) {
        destination.datagramsInFlight--;
        counters.datagramsDropped.frozenOverflow++;
        return false;
      }
      destination.heldDatagrams++;
      held = true;
      return true;
    };
    const arrival = arrivalMs(this.scheduler.now(), this.link.datagramDelayMs());
    this.scheduler.at(arrival, arrive, destination.clock, holdWhileFrozen);
  }
}
