// The PeerPDU intake: what a node does with every datagram before its
// discovery machine sees any.
//
// Every node hears every other node every interval: N^2 datagrams, nearly all
// of them saying again what the previous one said. The intake keeps, per
// peer, what the datagram stream itself tells (incarnation, round, address,
// what was last announced, when it was last heard) and passes on to the
// machine and the directory only news:
//
// - stale: an older incarnation or an older round (protocol section 4) is
//   dropped here, the one place that rule lives;
// - peer news, for the discovery machine: the first datagram of a peer or of
//   a new incarnation, a new address, nick or port, and every datagram of a
//   peer whose liveness is not timerAlive (figure 6 needs the PDU to come
//   back);
// - an announcement, for the directory: a complete PDU of another `rev`
//   than the last (what the sender announces changed);
// - routine: anything else. It still counts: it refreshes the peer's
//   silence watch, which is how a routine datagram "updates the timer" of
//   figure 6 without a machine event.
//
// The silence watch is the timer of figure 6, the service each liveness
// machine invokes: "tell me each time this peer has been silent for X".
// Hearing a peer only writes the time into its watch; the watches sit in a
// timing wheel (Varghese & Lauck) of X/16 slots by the deadline they had
// when placed, and one clock timer per node visits the slots as they fall
// due: a watch heard since is placed again by its new deadline, the others
// are reported silent. A routine datagram thus costs a field write, not a
// timer, and a silence is reported at most X/16 late (SILENCE_SLACK).
import type { Clock, TimerId } from '../clock.ts';
import type { Endpoint } from '../net/transport.ts';
import { PduAssembler, type PeerPdu, type PeerPduPart } from '../wire/peer-pdu.ts';

/** Fraction of X by which a silence may be reported late (one timer per node instead of one per datagram). */
export const SILENCE_SLACK = 1 / 16;

/** What one datagram means: for the discovery machine, for the directory, or nothing. */
export interface Intake {
  /** An older incarnation or round: dropped. */
  stale: boolean;
  /** For the discovery machine: a new peer or incarnation, a new address, nick or port, or a peer not in timerAlive. */
  peerNews: boolean;
  /** A complete PDU of another `rev` than the last one: what the peer announces changed. */
  announcement: PeerPdu | undefined;
}

const STALE: Intake = { stale: true, peerNews: false, announcement: undefined };
const ROUTINE: Intake = { stale: false, peerNews: false, announcement: undefined };

interface Heard {
  incarnation: number;
  /** Highest round seen of this incarnation. */
  lastSeq: number;
  address: string;
  /** `rev`, nick and port of the last complete PDU passed on (rev -1: none yet). */
  rev: number;
  nick: string;
  port: number;
  /** The machine has the peer in timerAlive: its routine datagrams are not news. */
  steady: boolean;
  watch: SilenceWatch | undefined;
}

/** One invoked silence service. */
interface SilenceWatch {
  /** When the peer was last heard (or the watch began). */
  since: number;
  /** Undefined once cancelled: a slot drops it when it comes due. */
  onSilent: (() => void) | undefined;
}

/** Slots of the wheel; deadlines are at most X + one slot ahead, X is 16 slots. */
const WHEEL_SLOTS = 64;

/** The watches of one timeout X. Absolute slot n (deadlines in [n, n + 1) x slotMs) is slots[n % WHEEL_SLOTS]. */
interface Wheel {
  readonly timeoutMs: number;
  readonly slotMs: number;
  readonly slots: SilenceWatch[][];
  /** No slot before this one holds a watch. */
  firstSlot: number;
}

export class PeerIntake {
  private readonly heard = new Map<string, Heard>();
  /** Multi-part rounds being put together. */
  private readonly assembler = new PduAssembler();
  private readonly wheels = new Map<number, Wheel>();
  private timer: TimerId | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  /** Judge one decoded datagram of another peer (not our own). */
  admit(part: PeerPduPart, from: Endpoint): Intake {
    let peer = this.heard.get(part.peerId);
    if (peer !== undefined && part.incarnation < peer.incarnation) return STALE;
    let peerNews = false;
    if (peer === undefined || part.incarnation > peer.incarnation) {
      this.assembler.forget(part.peerId);
      const watch = peer?.watch;
      peer = { incarnation: part.incarnation, lastSeq: part.seq, address: from.address, rev: -1, nick: part.nick, port: part.port, steady: false, watch };
      this.heard.set(part.peerId, peer);
      peerNews = true;
    } else if (part.seq < peer.lastSeq) {
      return STALE;
    }
    peer.lastSeq = part.seq;
    if (peer.watch !== undefined) peer.watch.since = this.clock.now();
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
    if (!peer.steady) peerNews = true;
    return peerNews || announcement !== undefined ? { stale: false, peerNews, announcement } : ROUTINE;
  }

  /** The machine's view of the peer's liveness (timerAlive = steady). */
  setSteady(peerId: string, steady: boolean): void {
    const peer = this.heard.get(peerId);
    if (peer !== undefined) peer.steady = steady;
  }

  /** The machine dropped the peer (removed or rejected): its next datagram is news again. */
  forget(peerId: string): void {
    // Its liveness actor is gone by now (removed) or never was (rejected),
    // and with it any silence watch.
    this.heard.delete(peerId);
    this.assembler.forget(peerId);
  }

  /** Call `onSilent` each time `peerId` has sent nothing for `timeoutMs` (counting again from each call); returns the cancel function. */
  watchSilence(peerId: string, timeoutMs: number, onSilent: () => void): () => void {
    let wheel = this.wheels.get(timeoutMs);
    if (wheel === undefined) {
      wheel = { timeoutMs, slotMs: timeoutMs * SILENCE_SLACK, slots: Array.from({ length: WHEEL_SLOTS }, () => []), firstSlot: Number.POSITIVE_INFINITY };
      this.wheels.set(timeoutMs, wheel);
    }
    const watch: SilenceWatch = { since: this.clock.now(), onSilent };
    const peer = this.heard.get(peerId);
    if (peer !== undefined) peer.watch = watch;
    this.arm(this.place(wheel, watch));
    return () => {
      watch.onSilent = undefined;
      if (peer !== undefined && peer.watch === watch) peer.watch = undefined;
    };
  }

  /** Put a watch in the slot of its deadline; returns when that slot is due. */
  private place(wheel: Wheel, watch: SilenceWatch): number {
    const slot = Math.floor((watch.since + wheel.timeoutMs) / wheel.slotMs);
    wheel.slots[slot % WHEEL_SLOTS]!.push(watch);
    if (slot < wheel.firstSlot) wheel.firstSlot = slot;
    return (slot + 1) * wheel.slotMs;
  }

  /** Make sure the timer fires no later than `at`. */
  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.now()));
  }

  /** Visit every slot that fell due: re-place the watches heard since, report the others. */
  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const wheel of this.wheels.values()) {
      if (wheel.firstSlot === Number.POSITIVE_INFINITY) continue;
      const silent: Array<() => void> = [];
      // Any WHEEL_SLOTS consecutive slots visit every bucket (after a long freeze, say).
      let slot = Math.max(wheel.firstSlot, Math.floor(now / wheel.slotMs) - WHEEL_SLOTS);
      for (; (slot + 1) * wheel.slotMs <= now; slot++) {
        const due = wheel.slots[slot % WHEEL_SLOTS]!;
        if (due.length === 0) continue;
        wheel.slots[slot % WHEEL_SLOTS] = [];
        for (const watch of due) {
          if (watch.onSilent === undefined) continue;
          // Silent: report, and count X again from now (figure 6: entering
          // maybeDisconnected sets timer = X). Heard since: a later slot.
          if (watch.since + wheel.timeoutMs <= now) {
            silent.push(watch.onSilent);
            watch.since = now;
          }
          this.place(wheel, watch);
        }
      }
      wheel.firstSlot = Number.POSITIVE_INFINITY;
      for (let ahead = 0; ahead < WHEEL_SLOTS; ahead++) {
        if (wheel.slots[(slot + ahead) % WHEEL_SLOTS]!.length > 0) {
          wheel.firstSlot = slot + ahead;
          next = Math.min(next, (slot + ahead + 1) * wheel.slotMs);
          break;
        }
      }
      // Reported after the wheel is consistent: a report may start new watches.
      for (const onSilent of silent) onSilent();
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
