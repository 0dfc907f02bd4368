// The simulated network between simulated hosts: it implements the same
// Network interface as lib/net (lib/net/transport.ts), so node code runs on it
// unchanged, and it injects faults immediately and deterministically:
// crashes, freezes, partitions (symmetric or one-way) and loss bursts.
//
// Every callback a host's process sees runs as a Scheduler event owned by
// that host's OwnedClock, so a frozen host sees nothing until its thaw and a
// crashed one never again. Kernel work (answering a SYN) is not owned: a
// frozen host still completes handshakes. All randomness comes from forks of
// the injected SeededRandom, so a seed replays everything.

import {
  KIT_PORT_MAX,
  KIT_PORT_MIN,
  type DatagramGroup,
  type Endpoint,
  type GroupOptions,
  type Network,
  type StreamConnection,
  type StreamListener,
} from '../lib/net/transport.ts';
import type { Random, SeededRandom } from '../lib/random.ts';
import { HostState } from './host-state.ts';
import { arrivalMs, LinkModel } from './link-model.ts';
import { resolveLinkOptions, type LinkOptions } from './link-options.ts';
import { SimListener } from './listener.ts';
import { Multicast, type DatagramCounters } from './multicast.ts';
import { Partitions, type CutState } from './partitions.ts';
import type { OwnedClock, Scheduler } from './scheduler.ts';
import { SimStream, type Pipe, type StreamCounters, type StreamWorld } from './stream.ts';

export type { LinkOptions } from './link-options.ts';

/** One simulated host as its node code sees it. */
export interface SimHost {
  readonly id: string;
  readonly address: string;
  readonly network: Network;
  /** The host process's clock (also its XState `clock` option): freezes and dies with the host. */
  readonly clock: OwnedClock;
}

export interface NetworkStats extends DatagramCounters, StreamCounters {
  connectionsOpened: number;
  connectionsRefused: number;
  connectionsTimedOut: number;
  hostsCrashed: number;
}

/** Addresses that mean "this host". */
const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', 'localhost', '::1']);

/** An Error like Node's socket errors: `code`, `syscall`, `address`, `port`. */
function socketError(code: string, syscall: string, endpoint: Endpoint): Error {
  return Object.assign(new Error(`${syscall} ${code} ${endpoint.address}:${endpoint.port}`), {
    code,
    syscall,
    address: endpoint.address,
    port: endpoint.port,
  });
}

/** What a dead process's calls return: nothing ever happens to it again. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

export class SimNetwork {
  private readonly options: Required<LinkOptions>;
  private readonly link: LinkModel;
  /** Separate streams of draws, so that listening on a port does not shift loss decisions. */
  private readonly portRandom: Random;
  private readonly splitRandom: Random;
  private readonly partitions = new Partitions();
  private readonly multicast: Multicast;
  /** hostId -> its latest incarnation, crashed ones included (they refuse connections). */
  private readonly hosts = new Map<string, HostState>();
  /** address -> the host that had it last, crashed or not. */
  private readonly addresses = new Map<string, HostState>();
  private readonly stalledPipes = new Set<Pipe>();
  private readonly counters = {
    connectionsOpened: 0,
    connectionsRefused: 0,
    connectionsTimedOut: 0,
    hostsCrashed: 0,
  };
  private readonly streamWorld: StreamWorld;

  constructor(
    private readonly scheduler: Scheduler,
    random: SeededRandom,
    options: LinkOptions = {},
  ) {
    this.options = resolveLinkOptions(options);
    this.link = new LinkModel(random.fork(), this.options);
    this.portRandom = random.fork();
    this.splitRandom = random.fork();
    this.multicast = new Multicast(scheduler, this.link, this.partitions, this.options);
    this.streamWorld = {
      scheduler,
      options: this.options,
      counters: {
        streamBytesWritten: 0,
        streamBytesDelivered: 0,
        streamBytesDropped: 0,
        streamWritesAfterClose: 0,
        streamWritesCut: 0,
        streamsClosed: { closed: 0, reset: 0, destroyed: 0 },
      },
      latencyMs: () => this.link.latencyMs(),
      blocks: (from, to) => this.partitions.blocks(from, to),
      split: (chunk) => this.split(chunk),
      stalled: (pipe) => this.stalledPipes.add(pipe),
    };
  }

  /**
   * Start host `hostId` at `address`: its first process, or a fresh one after
   * crash(hostId) (with a fresh clock; the old one stays dead).
   */
  host(hostId: string, address: string): SimHost {
    if (this.hosts.get(hostId)?.alive === true) {
      throw new Error(`host ${hostId} is already running: crash it before starting it again`);
    }
    const holder = this.addresses.get(address);
    if (holder?.alive === true) throw new Error(`address ${address} is taken by ${holder.id}`);
    const state = new HostState(hostId, address, this.scheduler.clockFor(hostId));
    this.hosts.set(hostId, state);
    this.addresses.set(address, state);
    return { id: hostId, address, network: new HostNetwork(this, state), clock: state.clock };
  }

  /**
   * The host's process dies: its timers and pending deliveries are cancelled,
   * its listeners and group memberships vanish, and the peers of its streams
   * see onClose('reset') one latency later (or when a partition between them heals).
   */
  crash(hostId: string): void {
    const host = this.hosts.get(hostId);
    if (host === undefined || !host.alive) return;
    host.alive = false;
    this.counters.hostsCrashed++;
    host.clock.destroy();
    for (const listener of [...host.listeners.values()]) listener.close();
    for (const group of [...host.groups]) group.close();
    for (const stream of [...host.streams]) stream.crash();
    this.multicast.counters.datagramsDropped.crashed += host.datagramsInFlight;
    host.datagramsInFlight = 0;
    host.heldDatagrams = 0;
  }

  /** SIGSTOP: the host's timers and deliveries wait (at most frozenDatagramsMax datagrams are held). */
  freeze(hostId: string): void {
    this.liveHost(hostId)?.clock.freeze();
  }

  /** SIGCONT: what waited runs now, in its original order. */
  thaw(hostId: string): void {
    this.liveHost(hostId)?.clock.thaw();
  }

  /**
   * Hosts in different groups cannot reach each other until heal(): their
   * datagrams are dropped, stream bytes wait (TCP retransmits them), new
   * connects time out. A host named in no group is cut off from nobody.
   * Replaces the previous partition; one-way cuts stay.
   */
  partition(groups: readonly (readonly string[])[]): void {
    this.partitions.partition(groups);
    this.resumeStalledPipes();
  }

  /** Packets from any host of `from` to any of `to` are dropped; the other way still works. */
  partitionOneWay(from: readonly string[], to: readonly string[]): void {
    this.partitions.partitionOneWay(from, to);
  }

  /** Who can reach whom now: the snapshot the network drops by. */
  get reachability(): CutState {
    return this.partitions.state;
  }

  /** Every host reaches every other again; held stream bytes go out. */
  heal(): void {
    this.partitions.heal();
    this.resumeStalledPipes();
  }

  /** Datagram loss rises to at least `rate` for the next `durationMs`. Streams are not affected. */
  lossBurst(rate: number, durationMs: number): void {
    this.link.lossBurst(rate, this.scheduler.now(), durationMs);
  }

  stats(): NetworkStats {
    const datagrams = this.multicast.counters;
    const streams = this.streamWorld.counters;
    return {
      ...datagrams,
      datagramsDropped: { ...datagrams.datagramsDropped },
      ...streams,
      streamsClosed: { ...streams.streamsClosed },
      ...this.counters,
    };
  }

  /** @internal */
  joinGroup(host: HostState, options: GroupOptions): Promise<DatagramGroup> {
    if (!host.alive) return never();
    return Promise.resolve(this.multicast.join(host, options));
  }

  /** @internal */
  listen(host: HostState, port: number): Promise<StreamListener> {
    if (!host.alive) return never();
    const chosen = port === 0 ? this.freeKitPort(host) : port;
    if (chosen === undefined || host.listeners.has(chosen)) {
      return Promise.reject(socketError('EADDRINUSE', 'listen', { address: host.address, port }));
    }
    const listener = new SimListener(this.scheduler, host, chosen);
    host.listeners.set(chosen, listener);
    return Promise.resolve(listener);
  }

  /**
   * @internal One RTT: the SYN travels one latency (answered by the server's
   * kernel, frozen or not), the SYN-ACK or RST another. A partition, or an
   * address nobody has, drops the SYN and the client times out.
   */
  connect(client: HostState, to: Endpoint, timeoutMs: number): Promise<StreamConnection> {
    if (!client.alive) return never();
    if (!(timeoutMs > 0)) return Promise.reject(new RangeError(`connect timeout must be > 0 ms, got ${timeoutMs}`));
    return new Promise<StreamConnection>((resolve, reject) => {
      let settled = false;
      const timer = this.scheduler.after(
        timeoutMs,
        () => {
          if (settled) return;
          settled = true;
          this.counters.connectionsTimedOut++;
          reject(socketError('ETIMEDOUT', 'connect', to));
        },
        client.clock,
      );
      /** Returns false if the client already gave up. */
      const settle = (outcome: () => void): boolean => {
        if (settled) return false;
        settled = true;
        this.scheduler.cancel(timer);
        outcome();
        return true;
      };

      const synArrives = (): void => {
        if (!client.alive) return; // the client crashed meanwhile: nobody to answer
        const server = LOOPBACK_ADDRESSES.has(to.address) ? client : this.addresses.get(to.address);
        if (server === undefined) return; // nobody has the address: the client times out
        if (this.partitions.blocks(client.id, server.id) || this.partitions.blocks(server.id, client.id)) return;
        const now = this.scheduler.now();
        const replyAt = arrivalMs(now, this.link.latencyMs());
        const listener = server.alive ? server.listeners.get(to.port) : undefined;
        if (listener === undefined) {
          this.scheduler.at(
            replyAt,
            () => settle(() => {
              this.counters.connectionsRefused++;
              reject(socketError('ECONNREFUSED', 'connect', to));
            }),
            client.clock,
          );
          return;
        }
        const clientEndpoint = { address: client.address, port: client.ephemeralPort() };
        const serverEndpoint = { address: server.address, port: to.port };
        const ends = SimStream.pair(this.streamWorld, client, clientEndpoint, server, serverEndpoint, replyAt);
        client.streams.add(ends.client);
        server.streams.add(ends.server);
        this.counters.connectionsOpened++;
        // The server's process sees it now (or at its thaw); the client one latency later.
        this.scheduler.at(now, () => listener.accept(ends.server), server.clock);
        this.scheduler.at(
          replyAt,
          () => {
            if (!settle(() => resolve(ends.client))) ends.client.destroy(); // gave up: reset the server's end
          },
          client.clock,
        );
      };
      this.scheduler.at(arrivalMs(this.scheduler.now(), this.link.latencyMs()), synArrives);
    });
  }

  private liveHost(hostId: string): HostState | undefined {
    const host = this.hosts.get(hostId);
    return host?.alive === true ? host : undefined;
  }

  /** A random free port of the KIT range (deterministic from the seed), probing upwards. */
  private freeKitPort(host: HostState): number | undefined {
    const span = KIT_PORT_MAX - KIT_PORT_MIN + 1;
    const start = Math.floor(this.portRandom.next() * span);
    for (let i = 0; i < span; i++) {
      const port = KIT_PORT_MIN + ((start + i) % span);
      if (!host.listeners.has(port)) return port;
    }
    return undefined;
  }

  /** With splitChunks, cut a chunk at random points (halving the odds of each further cut). */
  private split(chunk: Buffer): Buffer[] {
    if (!this.options.splitChunks || chunk.length < 2) return [chunk];
    const pieces: Buffer[] = [];
    let rest = chunk;
    while (rest.length > 1 && this.splitRandom.next() < 0.5) {
      const cut = 1 + Math.floor(this.splitRandom.next() * (rest.length - 1));
      pieces.push(rest.subarray(0, cut));
      rest = rest.subarray(cut);
    }
    pieces.push(rest);
    return pieces;
  }

  private resumeStalledPipes(): void {
    for (const pipe of this.stalledPipes) {
      if (pipe.resume()) this.stalledPipes.delete(pipe);
    }
  }
}

/** The Network one simulated host's node code is given. */
class HostNetwork implements Network {
  constructor(
    private readonly simNetwork: SimNetwork,
    private readonly host: HostState,
  ) {}

  joinGroup(options: GroupOptions): Promise<DatagramGroup> {
    return this.simNetwork.joinGroup(this.host, options);
  }

  /** Every simulated host has one address, so `host` is accepted and ignored. */
  listen(port: number, _host?: string): Promise<StreamListener> {
    return this.simNetwork.listen(this.host, port);
  }

  connect(to: Endpoint, timeoutMs: number): Promise<StreamConnection> {
    return this.simNetwork.connect(this.host, to, timeoutMs);
  }
}
