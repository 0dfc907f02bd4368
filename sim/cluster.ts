// N real ChanmeshNodes on one simulated network and one virtual timeline.
//
// Same code, other world: every node is the production composition
// (lib/node/node.ts with the real machines); only its injected parts differ.
//   network   -> the host's SimNetwork view (datagram deliveries observed)
//   clock     -> the host's OwnedClock (also XState's `clock` option)
//   random    -> a SeededRandom fork per incarnation
//   log       -> pino with virtual timestamps into the run's EventLog
//   incarnation -> grows with every restart of an id
// Nothing here decides anything the protocol decides: hosting, failover and
// split-brain resolution are the nodes' own.
//
// Faults act on hosts the way the world acts on processes: crash (SIGKILL of
// a machine: the node object is abandoned, never stopped), restart (a new
// process, new incarnation, rejoining the channels its user was in),
// freeze/thaw (SIGSTOP/SIGCONT), partition/heal, loss bursts.
import type { Logger } from 'pino';
import type { DatagramGroup, Network } from '../lib/net/transport.ts';
import { ChanmeshNode, type ChatLine } from '../lib/node/node.ts';
import type { NodeConfigInput } from '../lib/node/config.ts';
import type { SeededRandom } from '../lib/random.ts';
import type { EventLog } from './event-log.ts';
import { SimGroup } from './multicast.ts';
import { SimNetwork, type LinkOptions, type SimHost } from './network.ts';
import type { Scheduler } from './scheduler.ts';
import type { CutState } from './partitions.ts';

export type NodeStatus = 'up' | 'frozen' | 'crashed';

/** One incarnation of one simulated node (a process on a host). */
export class SimNode {
  status: NodeStatus = 'up';
  /** start() resolved: the node listens and multicasts. */
  ready = false;
  readonly startedAt: number;
  crashedAt?: number;

  /** Undefined once crashed: checkers keep SimNodes (an incarnation's identity) for the whole run, not the dead process. */
  private process: ChanmeshNode | undefined;

  constructor(
    readonly id: string,
    /** 0-based position of the id in the cluster. */
    readonly index: number,
    readonly incarnation: number,
    node: ChanmeshNode,
    readonly host: SimHost,
    readonly log: Logger,
    startedAt: number,
  ) {
    this.process = node;
    this.startedAt = startedAt;
  }

  /** The incarnation's node; nobody may touch it after its crash. */
  get node(): ChanmeshNode {
    if (this.process === undefined) throw new Error(`${this.id} (incarnation ${this.incarnation}) crashed: its node is gone`);
    return this.process;
  }

  /** @internal A crash: let the abandoned node object be collected. */
  abandon(): void {
    this.process = undefined;
  }

  /** Can act and be acted on: not crashed, not frozen, started. */
  get active(): boolean {
    return this.status === 'up' && this.ready;
  }

  get alive(): boolean {
    return this.status !== 'crashed';
  }
}

/** What the checkers and the workload may watch. Every hook is optional. */
export interface ClusterObserver {
  /** A datagram reached `receiver`'s node code (its process ran the handler). */
  datagram?(receiver: SimNode, senderIndex: number, datagram: Buffer): void;
  chat?(node: SimNode, line: ChatLine): void;
  /** An exception escaped one of the node's machines. */
  fault?(node: SimNode, error: Error): void;
  started?(node: SimNode): void;
  crashed?(node: SimNode): void;
  frozen?(node: SimNode, frozen: boolean): void;
  /** The user of `node` called join/exit/say. */
  joinCalled?(node: SimNode, channel: string): void;
  exitCalled?(node: SimNode, channel: string): void;
  said?(node: SimNode, channel: string, text: string): void;
  /** Reachability changed: `cut` is the new state (a snapshot). */
  reachability?(cut: CutState): void;
  /** Datagram loss rises to at least `rate` for `durationMs` from now (a new burst replaces the old). */
  lossBurst?(rate: number, durationMs: number): void;
}

export interface SimClusterOptions {
  scheduler: Scheduler;
  log: EventLog;
  /** Forked for the network, then once per node incarnation. */
  random: SeededRandom;
  nodeCount: number;
  /** The nodes' PDU interval (the only config knob the simulator sets by default). */
  pduIntervalMs: number;
  link?: LinkOptions;
  /** pino level of the nodes' loggers (default info; debug adds connection and decode detail). */
  logLevel?: string;
  /** Further node config (defaults otherwise). */
  nodeConfig?: Omit<Partial<NodeConfigInput>, 'id'>;
}

/** Node ids n1..nN, addresses 10.0.x.y. */
export function nodeId(index: number): string {
  return `n${index + 1}`;
}

function nodeAddress(index: number): string {
  const n = index + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export class SimCluster {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly ids: readonly string[];
  /** The current incarnation of every id (crashed ones stay until a restart replaces them). */
  private readonly current = new Map<string, SimNode>();
  /** Channels each id's user is in: a restarted process rejoins them. */
  private readonly userChannels = new Map<string, Set<string>>();
  private readonly observers: ClusterObserver[] = [];
  private readonly nodeRandom: SeededRandom;
  readonly simLog: Logger;

  constructor(private readonly options: SimClusterOptions) {
    this.scheduler = options.scheduler;
    this.network = new SimNetwork(options.scheduler, options.random.fork(), options.link ?? {});
    this.nodeRandom = options.random.fork();
    const ids: string[] = [];
    for (let i = 0; i < options.nodeCount; i++) ids.push(nodeId(i));
    this.ids = ids;
    this.simLog = options.log.logger({ id: 'sim', incarnation: 0 }, () => this.scheduler.now());
  }

  observe(observer: ClusterObserver): void {
    this.observers.push(observer);
  }

  get size(): number {
    return this.ids.length;
  }

  node(id: string): SimNode | undefined {
    return this.current.get(id);
  }

  /** Current incarnations, in id order. */
  nodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const id of this.ids) {
      const n = this.current.get(id);
      if (n) out.push(n);
    }
    return out;
  }

  userChannelsOf(id: string): ReadonlySet<string> {
    return this.userChannels.get(id) ?? new Set();
  }

  /** Start the first process of `id`, or a new one after a crash (a restart). */
  start(id: string): SimNode {
    const index = this.ids.indexOf(id);
    if (index < 0) throw new Error(`no node ${id} in this cluster`);
    const previous = this.current.get(id);
    if (previous?.alive) throw new Error(`${id} is running: crash it before starting it again`);
    const now = this.scheduler.now();
    // Like the real node's start time in ms, but strictly growing per id.
    const incarnation = Math.max((previous?.incarnation ?? 0) + 1, 1 + Math.floor(now));
    const host = this.network.host(id, nodeAddress(index));
    let simNode: SimNode | undefined;
    const log = this.options.log.logger({ id, incarnation }, () => this.scheduler.now(), () => simNode?.alive ?? true, this.options.logLevel);
    const node = new ChanmeshNode(
      { ...this.options.nodeConfig, id, pduIntervalMs: this.options.pduIntervalMs },
      { network: this.observedNetwork(host, () => simNode!), clock: host.clock, random: this.nodeRandom.fork(), log, incarnation },
    );
    simNode = new SimNode(id, index, incarnation, node, host, log, now);
    const self = simNode;
    this.current.set(id, self);
    node.on('chat', (line) => {
      if (self.alive) for (const o of this.observers) o.chat?.(self, line);
    });
    node.on('fault', (error) => {
      if (self.alive) for (const o of this.observers) o.fault?.(self, error);
    });
    // No two simulated processes share an id: a node that gives way to
    // another (ownIdVerdict) took its own dead incarnation's datagrams for
    // a live process's, and is counted as the fault it is.
    node.on('idInUse', ({ address, incarnation: theirs }) => {
      if (self.alive) for (const o of this.observers) o.fault?.(self, new Error(`stopped: its id in use at ${address} (incarnation ${theirs})`));
    });
    this.simLog.info({ event: previous ? 'sim.restart' : 'sim.start', target: id, incarnation });
    node.start().then(
      () => {
        if (!self.alive) return;
        self.ready = true;
        for (const o of this.observers) o.started?.(self);
        // The restarted process's user rejoins what they were in.
        if (previous) for (const channel of [...this.userChannelsOf(id)].sort()) this.joinNow(self, channel);
      },
      (error: unknown) => {
        for (const o of this.observers) o.fault?.(self, error instanceof Error ? error : new Error(String(error)));
      },
    );
    return self;
  }

  // ------------------------------------------------------------ the users

  /** The user of `id` joins `channel` (remembered across restarts). Returns false if the node can't act now. */
  join(id: string, channel: string): boolean {
    const n = this.current.get(id);
    let channels = this.userChannels.get(id);
    if (!channels) this.userChannels.set(id, (channels = new Set()));
    if (!n?.active || channels.has(channel)) return false;
    if (n.node.joinedChannels().includes(channel)) return false; // still leaving it
    channels.add(channel);
    this.joinNow(n, channel);
    return true;
  }

  exit(id: string, channel: string): boolean {
    const n = this.current.get(id);
    const channels = this.userChannels.get(id);
    if (!n?.active || !channels?.has(channel)) return false;
    channels.delete(channel);
    this.simLog.info({ event: 'sim.exit', target: id, channel });
    for (const o of this.observers) o.exitCalled?.(n, channel);
    n.node.exit(channel);
    return true;
  }

  say(id: string, channel: string, text: string): boolean {
    const n = this.memberNow(id, channel);
    if (!n) return false;
    this.simLog.info({ event: 'sim.say', target: id, channel, text });
    for (const o of this.observers) o.said?.(n, channel, text);
    n.node.say(channel, text);
    return true;
  }

  invite(id: string, channel: string, peerIds: string[]): boolean {
    const n = this.memberNow(id, channel);
    if (!n) return false;
    this.simLog.info({ event: 'sim.invite', target: id, channel, peerIds });
    n.node.invite(channel, peerIds);
    return true;
  }

  /** The node of `id`, if it can act now and its user is in `channel`. */
  private memberNow(id: string, channel: string): SimNode | undefined {
    const n = this.current.get(id);
    return n?.active && this.userChannels.get(id)?.has(channel) ? n : undefined;
  }

  private joinNow(n: SimNode, channel: string): void {
    this.simLog.info({ event: 'sim.join', target: n.id, channel });
    for (const o of this.observers) o.joinCalled?.(n, channel);
    n.node.join(channel);
  }

  // ------------------------------------------------------------ faults

  /** The machine dies: timers, deliveries and connections with it. The node object is abandoned. */
  crash(id: string): boolean {
    const n = this.current.get(id);
    if (!n?.alive) return false;
    this.simLog.warn({ event: 'sim.crash', target: id, incarnation: n.incarnation });
    n.status = 'crashed';
    n.crashedAt = this.scheduler.now();
    this.network.crash(id);
    for (const o of this.observers) o.crashed?.(n);
    n.abandon();
    return true;
  }

  /** A new process for a crashed id. */
  restart(id: string): SimNode | undefined {
    const n = this.current.get(id);
    if (n?.alive) return undefined;
    return this.start(id);
  }

  freeze(id: string): boolean {
    const n = this.current.get(id);
    if (n?.status !== 'up') return false;
    this.simLog.warn({ event: 'sim.freeze', target: id });
    n.status = 'frozen';
    this.network.freeze(id);
    for (const o of this.observers) o.frozen?.(n, true);
    return true;
  }

  thaw(id: string): boolean {
    const n = this.current.get(id);
    if (n?.status !== 'frozen') return false;
    this.simLog.info({ event: 'sim.thaw', target: id });
    n.status = 'up';
    this.network.thaw(id);
    for (const o of this.observers) o.frozen?.(n, false);
    return true;
  }

  /** Symmetric partition into groups; replaces the previous one (one-way cuts stay). */
  partition(groups: readonly (readonly string[])[]): void {
    this.simLog.warn({ event: 'sim.partition', groups });
    this.network.partition(groups);
    this.reachabilityChanged();
  }

  partitionOneWay(from: readonly string[], to: readonly string[]): void {
    this.simLog.warn({ event: 'sim.partition_one_way', from, to });
    this.network.partitionOneWay(from, to);
    this.reachabilityChanged();
  }

  heal(): void {
    if (!this.network.reachability.active) return;
    this.simLog.info({ event: 'sim.heal' });
    this.network.heal();
    this.reachabilityChanged();
  }

  lossBurst(rate: number, durationMs: number): void {
    this.simLog.warn({ event: 'sim.loss_burst', rate, durationMs });
    this.network.lossBurst(rate, durationMs);
    for (const o of this.observers) o.lossBurst?.(rate, durationMs);
  }

  /** Who can reach whom now (the network's own snapshot, which it drops by). */
  get reachability(): CutState {
    return this.network.reachability;
  }

  private reachabilityChanged(): void {
    const cut = this.network.reachability;
    for (const o of this.observers) o.reachability?.(cut);
  }

  // ------------------------------------------------------------ network view

  /** The host's Network, with every datagram delivery reported to the observers. */
  private observedNetwork(host: SimHost, self: () => SimNode): Network {
    const observers = this.observers;
    return {
      joinGroup: async (options) => {
        const group = await host.network.joinGroup(options);
        if (!(group instanceof SimGroup)) throw new Error('a simulated host joins simulated groups');
        // Senders are told apart by this index: one load per datagram, where
        // an address lookup would cost a string-keyed Map.get.
        group.host.clusterIndex = self().index;
        const observed: DatagramGroup = {
          send: (datagram) => group.send(datagram),
          close: () => group.close(),
          onDatagram: (handler) =>
            group.onDatagram((datagram, from, sender) => {
              const senderIndex = sender.clusterIndex;
              if (senderIndex >= 0) {
                const receiver = self();
                for (let i = 0; i < observers.length; i++) observers[i]!.datagram?.(receiver, senderIndex, datagram);
              }
              handler(datagram, from);
            }),
        };
        return observed;
      },
      listen: (port, listenHost) => host.network.listen(port, listenHost),
      connect: (to, timeoutMs) => host.network.connect(to, timeoutMs),
    };
  }
}
