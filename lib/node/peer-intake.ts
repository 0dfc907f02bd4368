// The PeerPDU intake: what a node does with every datagram before its
// discovery machine sees any.
//
// Every node hears every other node every interval: N^2 datagrams, nearly all
// of them saying again what the previous one said. The intake keeps, per
// peer, what the datagram stream itself tells (incarnation, round, address,
// what was last announced, when it was last heard) and passes on to the
// machine and the directory only news:
//
// - stale: an older incarnation or an older round (protocol section 4), or
//   a part of the newest round heard already (a duplicate, or a replay of a
//   recorded datagram), is dropped here, before it refreshes any timer or
//   reaches any machine: the one place that rule lives for the node (the
//   PduAssembler, a codec of its own, keeps the same order of rounds only
//   to put parts together). A peer the machine dropped leaves its newest
//   round behind (`forgotten`), so a recording of a dead peer's last
//   incarnation cannot bring it back either;
// - peer news, for the discovery machine: the first datagram of a peer or of
//   a new incarnation, a new address, nick or port;
// - an announcement, for the directory: a complete PDU of another `rev`
//   than the last (what the sender announces changed);
// - routine: anything else. It still counts: it refreshes the peer's
//   silence watch, which is how a routine datagram "updates the timer" of
//   figure 6 without a machine event.
//
// The silence watch is the timer of figure 6, the service each liveness
// machine invokes: "tell me each time this peer has been silent for X, and
// when it is heard again after that" (the PeerPDU that ends a suspicion is
// the one datagram a liveness machine must see; after it the machine is in
// timerAlive again).
// Hearing a peer writes the time into its watch and moves the watch to the
// back of a queue kept in the order the peers were last heard (a doubly
// linked list per X, so the move is four pointer writes): the front is the
// peer silent longest, and the one clock timer per node is armed for it.
// Deadlines are counted in slots of X/16, as a timing wheel would (Varghese
// & Lauck), so the timer fires at most once per slot however many peers
// there are: a routine datagram costs no timer and no queue walk, and a
// silence is reported at most X/16 late (SILENCE_SLACK).
import type { Clock, TimerId } from '../clock.ts';
import type { DiscoveryEmitted } from '../../machines/discovery.ts';
import type { Endpoint } from '../net/transport.ts';
import { PduAssembler, roundOrder } from '../wire/pdu-assembler.ts';
import type { PeerPdu, PeerPduPart } from '../wire/peer-pdu.ts';
import { MAX_PEERS_DEFAULT } from '../wire/limits.ts';

/** Fraction of X by which a silence may be reported late (one timer per node instead of one per datagram). */
export const SILENCE_SLACK = 1 / 16;

/** What one datagram means: for the discovery machine, for the directory, or nothing. */
export interface Intake {
  /** An older incarnation or round: dropped. */
  stale: boolean;
  /** For the discovery machine: a new peer or incarnation, a new address, nick or port. */
  peerNews: boolean;
  /** A complete PDU of another `rev` than the last one: what the peer announces changed. */
  announcement: PeerPdu | undefined;
}

const STALE: Intake = { stale: true, peerNews: false, announcement: undefined };
const ROUTINE: Intake = { stale: false, peerNews: false, announcement: undefined };

/** The newest round heard of a peer, and which of its parts (PDUs have at most 48: a bit each, exact in a double). */
interface NewestRound {
  incarnation: number;
  /** Highest round seen of this incarnation. */
  seq: number;
  /** Sum of 2^part over the parts of round seq heard. */
  partsHeard: number;
}

interface Heard extends NewestRound {
  address: string;
  /** `rev`, nick and port of the last complete PDU passed on (rev -1: none yet). */
  rev: number;
  nick: string;
  port: number;
  watch: SilenceWatch | undefined;
}

/** One invoked silence service: an entry of its queue. */
interface SilenceWatch {
  /** When the peer was last heard (or the watch began, or last reported silent). */
  since: number;
  /** Undefined once cancelled (and out of the queue). */
  onSilent: (() => void) | undefined;
  onHeard: () => void;
  /** Reported silent and not heard since: the machine is in maybeDisconnected. */
  silent: boolean;
  readonly queue: SilenceQueue;
  /** Neighbours in the queue: heard earlier, heard later. */
  earlier: SilenceWatch | undefined;
  later: SilenceWatch | undefined;
}

/** The watches of one timeout X, in the order they were last heard (so by `since`, as time only grows). */
interface SilenceQueue {
  readonly timeoutMs: number;
  readonly slotMs: number;
  first: SilenceWatch | undefined;
  last: SilenceWatch | undefined;
}

export class PeerIntake {
  private readonly heard = new Map<string, Heard>();
  /** The newest round of each peer the machine dropped, oldest drop first; a peer is here or in `heard`, never both. */
  private readonly forgotten = new Map<string, NewestRound>();
  /** Multi-part rounds being put together, of at most maxPeers peers. */
  private readonly assembler: PduAssembler;
  /** By timeout X, those with a watch (at most one per peer watched). */
  private readonly queues = new Map<number, SilenceQueue>();
  private timer: TimerId | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  /**
   * `maxPeers`: as many as the peer table holds (NodeConfig.maxPeers). It
   * bounds the rounds being put together and the dropped peers whose newest
   * round is remembered, so that a recording of one replayed after the drop
   * is stale; beyond it the one dropped longest ago is forgotten for good
   * (its recordings are news once more).
   */
  constructor(
    private readonly clock: Clock,
    private readonly maxPeers = MAX_PEERS_DEFAULT,
  ) {
    this.assembler = new PduAssembler(maxPeers);
  }

  /** Silence queues held: one per timeout in use. For tests. */
  get silenceQueues(): number {
    return this.queues.size;
  }

  /** Judge one decoded datagram of another peer (not our own). */
  admit(part: PeerPduPart, from: Endpoint): Intake {
    let peer = this.heard.get(part.peerId);
    if (peer !== undefined ? !isNewer(part, peer) : isRecordingOf(part, this.forgotten.get(part.peerId))) return STALE;
    let peerNews = false;
    if (peer === undefined || part.incarnation > peer.incarnation) {
      this.assembler.forget(part.peerId);
      this.forgotten.delete(part.peerId);
      // A new incarnation gets its own liveness actor, and so its own watch
      // (watchSilence), as soon as the discovery machine has this datagram;
      // the old one's is not refreshed by it (nor told it was heard).
      peer = { incarnation: part.incarnation, seq: part.seq, partsHeard: 0, address: from.address, rev: -1, nick: part.nick, port: part.port, watch: undefined };
      this.heard.set(part.peerId, peer);
      peerNews = true;
    }
    if (part.seq > peer.seq) {
      peer.seq = part.seq;
      peer.partsHeard = 0;
    }
    peer.partsHeard += 2 ** part.part;
    if (peer.watch !== undefined) this.heardNow(peer.watch);
    if (peer.address !== from.address) {
      peer.address = from.address;
      peerNews = true;
    }
    // A single-part round is its own complete PDU: no copy per receiver.
    const complete = part.parts === 1 ? part : this.assembler.add(part);
    let announcement: PeerPdu | undefined;
    if (complete !== undefined && complete.rev !== peer.rev) {
      peer.rev = complete.rev;
      announcement = complete;
      if (complete.nick !== peer.nick || complete.port !== peer.port) {
        peer.nick = complete.nick;
        peer.port = complete.port;
        peerNews = true;
      }
    }
    return peerNews || announcement !== undefined ? { stale: false, peerNews, announcement } : ROUTINE;
  }

  /** What the discovery machine did to its table: a peer it dropped (disconnected or rejected) is forgotten. */
  follow(effect: DiscoveryEmitted): void {
    if (effect.type === 'peerDisconnected' || effect.type === 'peerRejected') this.forget(effect.peerId);
  }

  /** The machine dropped the peer: its next datagram of a newer round is news again. */
  private forget(peerId: string): void {
    // Its liveness actor is gone by now (removed) or never was (rejected),
    // and with it any silence watch.
    const peer = this.heard.get(peerId);
    if (peer === undefined) return;
    this.heard.delete(peerId);
    this.assembler.forget(peerId);
    this.forgotten.set(peerId, { incarnation: peer.incarnation, seq: peer.seq, partsHeard: peer.partsHeard });
    if (this.forgotten.size > this.maxPeers) this.forgotten.delete(this.forgotten.keys().next().value!);
  }

  /**
   * Call `onSilent` each time `peerId` has sent nothing for `timeoutMs`
   * (counting again from each call), and `onHeard` when it is heard after
   * that; returns the cancel function.
   */
  watchSilence(peerId: string, timeoutMs: number, onSilent: () => void, onHeard: () => void): () => void {
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) {
      queue = { timeoutMs, slotMs: timeoutMs * SILENCE_SLACK, first: undefined, last: undefined };
      this.queues.set(timeoutMs, queue);
    }
    const watch: SilenceWatch = { since: this.clock.now(), onSilent, onHeard, silent: false, queue, earlier: undefined, later: undefined };
    append(queue, watch);
    const peer = this.heard.get(peerId);
    if (peer !== undefined) peer.watch = watch;
    this.arm(dueAt(watch));
    return () => {
      if (watch.onSilent === undefined) return;
      watch.onSilent = undefined;
      unlink(queue, watch);
      // A queue per timeout in use, no more: each incarnation of a peer may
      // announce another interval, and expire() walks every queue.
      if (queue.first === undefined && this.queues.get(timeoutMs) === queue) this.queues.delete(timeoutMs);
      if (peer !== undefined && peer.watch === watch) peer.watch = undefined;
    };
  }

  /** The peer was heard: its silence counts from now, it goes to the back of its queue, and a silence reported ends. */
  private heardNow(watch: SilenceWatch): void {
    watch.since = this.clock.now();
    const queue = watch.queue;
    if (queue.last !== watch) {
      unlink(queue, watch);
      append(queue, watch);
    }
    if (watch.silent) {
      watch.silent = false;
      watch.onHeard();
    }
  }

  /** Make sure the timer fires no later than `at`. */
  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.now()));
  }

  /** Report every watch whose deadline's slot has passed, then arm for the next one. */
  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const silent: Array<() => void> = [];
      // Silent: report, and count X again from now (figure 6: entering
      // maybeDisconnected sets timer = X), which moves it to the back.
      const stop = queue.last;
      for (let watch = queue.first; watch !== undefined && dueAt(watch) <= now; watch = queue.first) {
        silent.push(watch.onSilent!);
        watch.silent = true;
        watch.since = now;
        unlink(queue, watch);
        append(queue, watch);
        if (watch === stop) break;
      }
      if (queue.first !== undefined) next = Math.min(next, dueAt(queue.first));
      // Reported after the queue is consistent: a report may start or cancel watches.
      for (const onSilent of silent) onSilent();
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}

/**
 * Whether a datagram is of a newer round than the newest heard, or a part of
 * that round not heard yet: rounds are ordered by (incarnation, seq), and a
 * part heard twice is a duplicate or a replay, which must not refresh the
 * peer's liveness (a recording would keep a dead peer alive) nor move its
 * address (replayed from elsewhere).
 */
function isNewer(part: PeerPduPart, known: NewestRound): boolean {
  const order = roundOrder(part, known);
  if (order !== 0) return order > 0;
  return Math.floor(known.partsHeard / 2 ** part.part) % 2 === 0;
}

/**
 * Whether a datagram of a peer the machine dropped is of the incarnation it
 * was dropped in and no newer than its newest round. Another incarnation is
 * news, even a lower one: a restart on a host whose clock went back (the
 * incarnation is the start time) must be found once the old one is gone,
 * and nothing tells it from an old recording.
 */
function isRecordingOf(part: PeerPduPart, dropped: NewestRound | undefined): boolean {
  return dropped !== undefined && part.incarnation === dropped.incarnation && !isNewer(part, dropped);
}

/** When a watch is reported silent if not heard before: the end of the slot its deadline falls in. */
function dueAt(watch: SilenceWatch): number {
  const slotMs = watch.queue.slotMs;
  return (Math.floor((watch.since + watch.queue.timeoutMs) / slotMs) + 1) * slotMs;
}

function append(queue: SilenceQueue, watch: SilenceWatch): void {
  watch.earlier = queue.last;
  watch.later = undefined;
  if (queue.last !== undefined) queue.last.later = watch;
  else queue.first = watch;
  queue.last = watch;
}

function unlink(queue: SilenceQueue, watch: SilenceWatch): void {
  if (watch.earlier !== undefined) watch.earlier.later = watch.later;
  else queue.first = watch.later;
  if (watch.later !== undefined) watch.later.earlier = watch.earlier;
  else queue.last = watch.earlier;
  watch.earlier = watch.later = undefined;
}
