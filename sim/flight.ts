// One multicast datagram's ordinary copies as ONE timeline entry: the
// receiving sockets in arrival order, each with its arrival time. The
// scheduler re-keys the flight to its next arrival after each copy (an
// EventSeries), so a send to 100 sockets costs one heap entry, not 100 events
// with two closures each. Ties between copies of one flight go in this order.
// What happens to a copy when it lands is Multicast's (sim/multicast.ts).

import type { Endpoint } from '../lib/net/transport.ts';
import type { HostState } from './host-state.ts';
import type { Multicast, SimGroup } from './multicast.ts';
import { EventSeries } from './scheduler.ts';

export class Flight extends EventSeries {
  /** Receiving sockets; once the send has placed them, in arrival order. Only [0, steps) counts. */
  readonly receivers: SimGroup[] = [];
  /** Virtual ms at which receivers[k] gets its copy (ascending). */
  readonly arrivals: number[] = [];
  source: HostState;
  datagram: Buffer;
  from: Endpoint;

  constructor(
    private readonly multicast: Multicast,
    source: HostState,
    datagram: Buffer,
    from: Endpoint,
  ) {
    super();
    this.source = source;
    this.datagram = datagram;
    this.from = from;
  }

  /**
   * Reuse a flight whose copies have all landed for another send: a send
   * allocates nothing in the steady state. The arrays keep their capacity.
   */
  reuse(source: HostState, datagram: Buffer, from: Endpoint): void {
    this.source = source;
    this.datagram = datagram;
    this.from = from;
    this.step = 0;
    this.steps = 0;
  }

  /** One more copy in this flight; the arrival times are drawn once all are in (Multicast.send). */
  add(receiver: SimGroup): void {
    this.receivers[this.steps++] = receiver;
  }

  timeOf(step: number): number {
    return this.arrivals[step] as number;
  }

  fire(step: number): boolean {
    const ran = this.multicast.land(this, this.receivers[step] as SimGroup);
    if (step === this.steps - 1) this.multicast.landed(this);
    return ran;
  }

  ownerNameOf(step: number): string | undefined {
    return this.receivers[step]?.host.id;
  }
}
