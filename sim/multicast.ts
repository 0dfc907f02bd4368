// Simulated UDP multicast: a datagram sent to a group endpoint reaches every
// socket that joined it, the sender's own included (IP_MULTICAST_LOOP), each
// copy with its own latency, loss, duplication and reordering. The SAME
// Buffer object is handed to every receiver, and the same `from` Endpoint for
// every datagram of one socket: receivers must not mutate either (encode
// once, send many, as the real node does).
//
// A send decides every copy's fate at once (cut, lost, reordered) and puts the
// ordinary copies into one Flight (sim/flight.ts), a single timeline entry
// carrying them in arrival order; a reordered copy travels in a flight of its
// own, and a copy that reaches a frozen receiver is held as an event of its
// own (both are rare). What happens to a copy when it lands is decided then,
// as for any event. This is the simulator's innermost loop (~40,000 copies
// per virtual second at 100 nodes): no allocation and no string-keyed lookup
// per ordinary copy; flights are reused.

import type { DatagramGroup, Endpoint, GroupOptions } from '../lib/net/transport.ts';
import { Flight } from './flight.ts';
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

/**
 * A datagram handler of a simulated socket; `sender` (the sending host's
 * state) is the simulator's extra, for observers (sim/cluster.ts).
 */
export type SimDatagramHandler = (datagram: Buffer, from: Endpoint, sender: HostState) => void;

/** One host's membership of one group: a joined, bound UDP socket. */
export class SimGroup implements DatagramGroup {
  closed = false;
  /** The `from` of every datagram this socket sends. */
  readonly from: Endpoint;
  private readonly handlers: SimDatagramHandler[] = [];

  constructor(
    private readonly multicast: Multicast,
    readonly host: HostState,
    readonly key: string,
    readonly port: number,
    /** Whether this socket's own datagrams come back to sockets on its host. */
    readonly loopback: boolean,
  ) {
    this.from = { address: host.address, port };
  }

  send(datagram: Buffer): void {
    this.multicast.send(this, datagram);
  }

  onDatagram(handler: SimDatagramHandler): void {
    this.handlers.push(handler);
  }

  close(): void {
    this.multicast.leave(this);
  }

  /** @internal */
  receive(datagram: Buffer, from: Endpoint, sender: HostState): void {
    const handlers = this.handlers;
    for (let i = 0; i < handlers.length; i++) (handlers[i] as SimDatagramHandler)(datagram, from, sender);
  }
}

export class Multicast {
  readonly counters = emptyDatagramCounters();
  /** "address:port" of a group -> its member sockets, in the order they joined. */
  private readonly members = new Map<string, SimGroup[]>();
  /** Flights whose copies have all landed, for the next sends. */
  private readonly spareFlights: Flight[] = [];

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
    const source = sender.host;
    if (sender.closed || !source.alive) return;
    const counters = this.counters;
    if (datagram.length > this.options.datagramBytesMax) {
      counters.datagramsDropped.oversize++;
      return;
    }
    counters.datagramsSent++;
    const now = this.scheduler.now();
    const flight = this.takeFlight(source, datagram, sender.from);
    const cut = this.partitions.active;
    for (const member of this.members.get(sender.key) ?? []) {
      if (member.host === source && !sender.loopback) continue;
      this.launch(flight, member, now, cut);
      if (this.link.duplicated()) {
        counters.datagramsDuplicated++;
        this.launch(flight, member, now, cut);
      }
    }
    if (flight.steps === 0) {
      this.landed(flight);
      return;
    }
    this.link.flightArrivals(now, flight.steps, flight.arrivals, flight.receivers);
    this.scheduler.addSeries(flight);
  }

  /** @internal Every copy of `flight` has landed: it may carry another send. */
  landed(flight: Flight): void {
    this.spareFlights.push(flight);
  }

  /**
   * @internal A copy of `flight` reaches `member`'s host. True when it ran as
   * an event (the receiver's process was there to take it).
   */
  land(flight: Flight, member: SimGroup): boolean {
    const destination = member.host;
    if (!destination.alive) return false; // crashed with the copy in flight: the crash counted it
    if (destination.clock.frozen) {
      // Like an event of a frozen host: held for the thaw, in the order it came due.
      const copy = this.heldCopy(flight.source, member, flight.datagram, flight.from);
      this.scheduler.hold(destination.clock, copy.arrive, copy.holdWhileFrozen);
      return false;
    }
    this.arrive(flight.source, member, flight.datagram, flight.from);
    return true;
  }

  /**
   * One copy on its way to one socket: cut (`cut`: a partition is active) or
   * lost now, or in the flight, or, when reordered, in a flight of its own.
   */
  private launch(flight: Flight, member: SimGroup, now: number, cut: boolean): void {
    const counters = this.counters;
    const source = flight.source;
    const destination = member.host;
    counters.datagramCopies++;
    if (cut && this.partitions.blocks(source.id, destination.id)) {
      counters.datagramsDropped.partition++;
      return;
    }
    if (this.link.lost(now)) {
      counters.datagramsDropped.loss++;
      return;
    }
    destination.datagramsInFlight++;
    const reorderMs = this.link.reorderDelayMs();
    if (reorderMs > 0) {
      const alone = this.takeFlight(source, flight.datagram, flight.from);
      alone.add(member);
      alone.arrivals[0] = arrivalMs(now, this.link.latencyMs() + reorderMs);
      this.scheduler.addSeries(alone);
    } else {
      flight.add(member);
    }
  }

  private takeFlight(source: HostState, datagram: Buffer, from: Endpoint): Flight {
    const flight = this.spareFlights.pop() ?? new Flight(this, source, datagram, from);
    flight.reuse(source, datagram, from);
    return flight;
  }

  /** A copy that reaches a live, running receiver's host. */
  private arrive(source: HostState, member: SimGroup, datagram: Buffer, from: Endpoint): void {
    const counters = this.counters;
    const destination = member.host;
    destination.datagramsInFlight--;
    if (member.closed) {
      counters.datagramsDropped.closed++;
    } else if (this.partitions.active && this.partitions.blocks(source.id, destination.id)) {
      counters.datagramsDropped.partition++; // the partition began while it was in flight
    } else {
      counters.datagramsDelivered++;
      member.receive(datagram, from, source);
    }
  }

  /** The callbacks of a copy held for a frozen receiver: an event of its own from then on. */
  private heldCopy(
    source: HostState,
    member: SimGroup,
    datagram: Buffer,
    from: Endpoint,
  ): { arrive: () => void; holdWhileFrozen: () => boolean } {
    const destination = member.host;
    let held = false;
    return {
      arrive: () => {
        if (held) destination.heldDatagrams--;
        this.arrive(source, member, datagram, from);
      },
      // A frozen host's socket buffer holds a bounded number; the rest are lost.
      holdWhileFrozen: () => {
        if (destination.heldDatagrams >= this.options.frozenDatagramsMax) {
          destination.datagramsInFlight--;
          this.counters.datagramsDropped.frozenOverflow++;
          return false;
        }
        destination.heldDatagrams++;
        held = true;
        return true;
      },
    };
  }
}
