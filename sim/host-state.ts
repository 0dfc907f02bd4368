// What the simulated network knows of one incarnation of one host: a crash
// ends the incarnation, a restart makes a new one under the same id.

import type { OwnedClock } from './scheduler.ts';
import type { SimGroup } from './multicast.ts';
import type { SimStream } from './stream.ts';
import type { SimListener } from './listener.ts';

/** Linux's default ephemeral range, for the client side of connections. */
const EPHEMERAL_PORT_MIN = 32768;
const EPHEMERAL_PORT_MAX = 60999;

export class HostState {
  alive = true;
  readonly listeners = new Map<number, SimListener>();
  readonly groups = new Set<SimGroup>();
  /** Connections with an end on this host that are not finished on both sides. */
  readonly streams = new Set<SimStream>();
  /** Datagrams due while frozen and held for the thaw (bounded by frozenDatagramsMax). */
  heldDatagrams = 0;
  /** Datagram copies on their way here, so that a crash can count them as dropped. */
  datagramsInFlight = 0;
  /**
   * This host's index in a simulated cluster (sim/cluster.ts sets it when the
   * host joins a group), so that per-datagram observers need no lookup; -1
   * outside a cluster.
   */
  clusterIndex = -1;
  private nextEphemeralPort = EPHEMERAL_PORT_MIN;

  constructor(
    readonly id: string,
    readonly address: string,
    readonly clock: OwnedClock,
  ) {}

  /** The local port of an outgoing connection: sequential, wrapping, like a kernel's. */
  ephemeralPort(): number {
    const port = this.nextEphemeralPort;
    this.nextEphemeralPort = port >= EPHEMERAL_PORT_MAX ? EPHEMERAL_PORT_MIN : port + 1;
    return port;
  }
}
