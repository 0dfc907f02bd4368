// One simulated TCP connection: two SimStream ends, each sending through a
// Pipe to the other. A pipe is reliable and in order: every segment arrives
// at max(previous arrival, now + latency). Across a partition a pipe stalls
// and keeps its bytes (TCP retransmits them) until the path opens again.
// Process-visible callbacks run in events owned by the end's host, so they
// wait while it is frozen and vanish when it crashes.
//
// Like end() on a Node socket with allowHalfOpen false: receiving the peer's
// FIN closes this end for its process and sends our own FIN after the bytes
// still queued; the end that called end() closes when that FIN arrives.

import type { Endpoint, StreamConnection } from '../lib/net/transport.ts';
import { arrivalMs } from './link-model.ts';
import type { LinkOptions } from './link-options.ts';
import type { OwnedClock, Scheduler } from './scheduler.ts';

/** Close reasons a process can see. */
export type CloseReason = 'closed' | 'reset' | 'destroyed';

const FIN = { kind: 'fin' } as const;
interface Reset {
  kind: 'reset';
  reason: CloseReason;
}
type Segment = Buffer | typeof FIN | Reset;

export interface StreamCounters {
  streamBytesWritten: number;
  streamBytesDelivered: number;
  /** Bytes thrown away: queued when a side reset, or arriving at a closed end. */
  streamBytesDropped: number;
  /** write() calls after end(), close or crash, which send nothing. */
  streamWritesAfterClose: number;
  /** Writes cut into more than one piece (splitChunks). */
  streamWritesCut: number;
  streamsClosed: Record<CloseReason, number>;
}

/** What the network gives a stream: time, latency, reachability and counters. */
export interface StreamWorld {
  readonly scheduler: Scheduler;
  readonly options: Required<LinkOptions>;
  readonly counters: StreamCounters;
  latencyMs(): number;
  blocks(fromHostId: string, toHostId: string): boolean;
  /** The pieces a written chunk travels as (itself unless splitChunks). */
  split(chunk: Buffer): Buffer[];
  /** A pipe stopped at a partition: call resume() when reachability changes. */
  stalled(pipe: Pipe): void;
}

export interface StreamHost {
  readonly id: string;
  readonly clock: OwnedClock;
  /** The host's unfinished streams, which its crash resets; an end leaves once both ends closed. */
  readonly streams: Set<SimStream>;
}

/** One direction of a connection. */
export class Pipe {
  private queue: Segment[] = [];
  private stalledAtPartition = false;
  /** Bumped to void every arrival already scheduled (after a stall or a reset). */
  private generation = 0;
  /** Bumped by clear(), to void acknowledgements of bytes it already forgot. */
  private clears = 0;
  /** Sent and not yet acknowledged by the receiver, plus still held: the sender's bufferedBytes. */
  private unackedBytes = 0;

  constructor(
    private readonly world: StreamWorld,
    readonly from: SimStream,
    readonly to: SimStream,
    /** No byte arrives before the receiving end exists for its process. */
    private lastArrivalMs: number,
  ) {}

  send(segment: Segment): void {
    if (Buffer.isBuffer(segment)) this.unackedBytes += segment.length;
    this.queue.push(segment);
    if (!this.stalledAtPartition) this.scheduleArrival();
  }

  /** Forget everything not yet delivered (a reset or a crash). */
  clear(): void {
    for (const segment of this.queue) {
      if (Buffer.isBuffer(segment)) this.world.counters.streamBytesDropped += segment.length;
    }
    this.queue = [];
    this.unackedBytes = 0;
    this.generation++;
    this.clears++;
  }

  /** Called when reachability changed; returns true once the pipe no longer waits. */
  resume(): boolean {
    if (!this.stalledAtPartition) return true;
    if (this.world.blocks(this.from.host.id, this.to.host.id)) return false;
    this.stalledAtPartition = false;
    // Retransmission: everything held goes out again, in order.
    for (let i = 0; i < this.queue.length; i++) this.scheduleArrival();
    return true;
  }

  get queuedBytes(): number {
    return this.unackedBytes;
  }

  private scheduleArrival(): void {
    const world = this.world;
    const arrival = Math.max(this.lastArrivalMs, arrivalMs(world.scheduler.now(), world.latencyMs()));
    this.lastArrivalMs = arrival;
    const generation = this.generation;
    // A frozen receiver's kernel still takes the segment when it arrives
    // (onHold, at its due time); its process reads it at the thaw.
    let taken: Segment | undefined;
    world.scheduler.at(
      arrival,
      () => {
        const segment = taken ?? this.take(generation);
        if (segment !== undefined) this.to.receive(segment);
      },
      this.to.host.clock,
      () => {
        taken = this.take(generation);
        return taken !== undefined;
      },
    );
  }

  /** Each arrival takes the head of the queue (arrivals come due in the order they were scheduled), unless a partition now stalls the pipe. */
  private take(generation: number): Segment | undefined {
    if (generation !== this.generation) return undefined;
    if (this.world.blocks(this.from.host.id, this.to.host.id)) {
      this.stalledAtPartition = true;
      this.generation++;
      this.world.stalled(this);
      return undefined;
    }
    const segment = this.queue.shift();
    if (segment === undefined) throw new Error('stream pipe: an arrival without a segment');
    return segment;
  }

  /**
   * The receiving process took `bytes`: after one latency the sender learns
   * it (the ACK). A simplification: ACKs are not held by partitions, they
   * only drive the sender's bufferedBytes.
   */
  acknowledge(bytes: number): void {
    const world = this.world;
    const clears = this.clears;
    world.scheduler.at(
      arrivalMs(world.scheduler.now(), world.latencyMs()),
      () => {
        if (clears !== this.clears) return;
        this.unackedBytes -= bytes;
        this.from.acknowledged();
      },
      this.from.host.clock,
    );
  }
}

export class SimStream implements StreamConnection {
  /** open -> (end() -> ending) -> closed. */
  state: 'open' | 'ending' | 'closed' = 'open';
  private out!: Pipe;
  private peer!: SimStream;
  private readonly dataHandlers: ((chunk: Buffer) => void)[] = [];
  private readonly drainHandlers: (() => void)[] = [];
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  /** Chunks that arrived before any onData handler, unacknowledged, waiting like a paused socket's. */
  private unread: Buffer[] = [];
  private unreadFlushScheduled = false;
  /** The peer's FIN came while bytes were unread: like Node, the end waits until they are read. */
  private finAfterUnread = false;
  private closeReason: CloseReason | undefined;
  private needDrain = false;

  private constructor(
    private readonly world: StreamWorld,
    readonly host: StreamHost,
    readonly local: Endpoint,
    readonly remote: Endpoint,
  ) {}

  /**
   * Both ends of a new connection. Bytes from the server to the client never
   * arrive before `clientSeesItMs`, when the client's connect() resolves.
   */
  static pair(
    world: StreamWorld,
    client: StreamHost,
    clientEndpoint: Endpoint,
    server: StreamHost,
    serverEndpoint: Endpoint,
    clientSeesItMs: number,
  ): { client: SimStream; server: SimStream } {
    const clientEnd = new SimStream(world, client, clientEndpoint, serverEndpoint);
    const serverEnd = new SimStream(world, server, serverEndpoint, clientEndpoint);
    clientEnd.peer = serverEnd;
    serverEnd.peer = clientEnd;
    clientEnd.out = new Pipe(world, clientEnd, serverEnd, world.scheduler.now());
    serverEnd.out = new Pipe(world, serverEnd, clientEnd, clientSeesItMs);
    return { client: clientEnd, server: serverEnd };
  }

  get bufferedBytes(): number {
    return this.out.queuedBytes;
  }

  /**
   * The chunk object itself travels (pieces of it with splitChunks): the
   * receiver must not mutate it, and the writer must not reuse it, which is
   * also true of a real socket's write().
   */
  write(chunk: Buffer): boolean {
    const world = this.world;
    if (this.state !== 'open') {
      world.counters.streamWritesAfterClose++;
      return false;
    }
    if (this.out.queuedBytes + chunk.length > world.options.streamBufferBytesMax) {
      throw new Error(
        `stream ${endpointText(this.local)} -> ${endpointText(this.remote)}: send buffer over ` +
          `${world.options.streamBufferBytesMax} bytes; the writer ignores write() returning false`,
      );
    }
    world.counters.streamBytesWritten += chunk.length;
    if (chunk.length > 0) {
      const pieces = world.split(chunk);
      if (pieces.length > 1) world.counters.streamWritesCut++;
      for (const piece of pieces) this.out.send(piece);
    }
    const belowHighWater = this.out.queuedBytes <= world.options.streamHighWaterBytes;
    if (!belowHighWater) this.needDrain = true;
    return belowHighWater;
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.dataHandlers.push(handler);
    if (this.unread.length > 0 && !this.unreadFlushScheduled) {
      this.unreadFlushScheduled = true;
      this.world.scheduler.at(this.world.scheduler.now(), () => this.flushUnread(), this.host.clock);
    }
  }

  onDrain(handler: () => void): void {
    this.drainHandlers.push(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
    const reason = this.closeReason;
    if (reason !== undefined) {
      // Registered after the close: still called once, as its own event.
      this.world.scheduler.at(this.world.scheduler.now(), () => handler(reason), this.host.clock);
    }
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.out.send(FIN);
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.resetPeer();
    // Our own onClose fires as an event of its own, not inside destroy().
    this.close('destroyed', true);
  }

  /** Our host crashed: the process is gone (no callbacks); the peer learns by a reset. */
  crash(): void {
    this.peer.out.clear();
    if (this.peer.state !== 'closed') this.resetPeer();
    else this.out.clear();
    this.state = 'closed';
    this.unread = [];
    this.finishIfBothClosed();
  }

  /** @internal A segment arrived from the peer. */
  receive(segment: Segment): void {
    const counters = this.world.counters;
    if (Buffer.isBuffer(segment)) {
      if (this.state === 'closed') {
        counters.streamBytesDropped += segment.length;
        return;
      }
      if (this.dataHandlers.length === 0 || this.unread.length > 0) {
        this.unread.push(segment);
        return;
      }
      this.deliver(segment);
    } else if (segment.kind === 'fin') {
      if (this.unread.length > 0) {
        this.finAfterUnread = true;
        if (this.dataHandlers.length > 0) this.flushUnread();
        return;
      }
      this.receiveFin();
    } else {
      this.out.clear(); // the peer is gone: stop sending to it
      this.close(segment.reason, false);
    }
  }

  private receiveFin(): void {
    if (this.state === 'open') {
      this.state = 'ending';
      this.out.send(FIN); // allowHalfOpen false: answer with our FIN after our queued bytes
    }
    this.close('closed', false);
  }

  /** @internal The peer acknowledged bytes: maybe the send buffer drained. */
  acknowledged(): void {
    if (this.state === 'closed') return;
    if (this.needDrain && this.out.queuedBytes <= this.world.options.streamLowWaterBytes) {
      this.needDrain = false;
      for (const handler of this.drainHandlers) handler();
    }
  }

  private deliver(chunk: Buffer): void {
    this.world.counters.streamBytesDelivered += chunk.length;
    this.peer.out.acknowledge(chunk.length);
    for (const handler of this.dataHandlers) handler(chunk);
  }

  private flushUnread(): void {
    this.unreadFlushScheduled = false;
    while (this.unread.length > 0 && this.state !== 'closed') {
      this.deliver(this.unread.shift() as Buffer);
    }
    if (this.finAfterUnread && this.unread.length === 0) {
      this.finAfterUnread = false;
      this.receiveFin();
    }
  }

  private resetPeer(): void {
    this.out.clear();
    this.out.send({ kind: 'reset', reason: 'reset' });
  }

  private close(reason: CloseReason, deferred: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.needDrain = false;
    this.world.counters.streamsClosed[reason]++;
    for (const chunk of this.unread) this.world.counters.streamBytesDropped += chunk.length;
    this.unread = [];
    const handlers = [...this.closeHandlers];
    const notify = (): void => {
      for (const handler of handlers) handler(reason);
    };
    if (deferred) this.world.scheduler.at(this.world.scheduler.now(), notify, this.host.clock);
    else notify();
    this.finishIfBothClosed();
  }

  private finishIfBothClosed(): void {
    if (this.state === 'closed' && this.peer.state === 'closed') {
      this.host.streams.delete(this);
      this.peer.host.streams.delete(this.peer);
    }
  }
}

function endpointText(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}
