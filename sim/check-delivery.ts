// Invariant (b), delivery: every SAY that its author saw acknowledged is
// delivered exactly once to every member that stayed in the channel, in the
// author's order, unless every holder of it died (then it is counted as
// lost, with the reason).
//
// Words (docs/simulator.md, Invariants (b), has them in full, with the
// seeds that shaped each; the methods below say them again where they act):
// - A *membership* is one join of one channel by one incarnation of a node,
//   from the user's join to its exit, the process's crash, or the end of the
//   run. It is *established* at its first `member.joined` line.
// - A message m is *said* at s (the user's say), *acknowledged* at a when its
//   author's own `chat` echo arrives (in any membership of that
//   incarnation), and its *acknowledging host* is the author's host then.
// - A membership M *stayed* for m when all of:
//     1. M was established at or before s;
//     2. M did not end (exit, crash) before min(a + graceMs, end of run);
//     3. M was not *disturbed* around m beyond what the protocol can
//        repair. A disturbance (disturbedUntil) is a freeze of M's node, a
//        cut between M's side and m's author or acknowledging host, a
//        loss burst that split the channel with M on another side, around
//        [s, a], or M's being with another host than the acknowledging
//        one at a. After it the protocol repairs through bounded histories,
//        from when M joins a host again (repairBegins); M is excused if by
//        then no holder that can repair it still had m among its last
//        historyLimit / 2 deliveries (finish), or if M ended before.
//   The author's own membership is not counted (its echo is the ack).
// - Every membership that stayed for m must deliver m once (missing = a
//   violation). No membership may deliver any message twice (duplicate =
//   a violation, disturbed or not). Of the messages a membership had to
//   deliver, those of one author arrive in the order the author said them,
//   but for a late repair and a relay merged late (checkOrder).
// - A message whose author's membership lasted to the end of the run (no
//   exit, no crash) must be acknowledged by then (unacknowledged = a
//   violation): the settle time is enough for any outbox to drain, and a
//   message that is never echoed was dropped without its author knowing.
// - The *holders* of m are the acknowledging host and every incarnation
//   that delivered m. If a membership that stayed lacks m and every holder
//   has crashed or left the channel by the end, m is *lost* (counted and
//   explained, not a violation). A holder that left and joined again holds
//   only what its new host's history gave it; the acknowledging host holds
//   it until its hosting of the channel closes, whether or not its user
//   delivered it (or left since).
import type { ChatLine } from '../lib/node/node.ts';
import type { SimCluster, SimNode } from './cluster.ts';
import type { CutState } from './partitions.ts';
import type { LogRecord, LogSource } from './event-log.ts';
import { Freezes, overlaps, type Span } from './freezes.ts';
import { formatVt, type Violations } from './violations.ts';

/**
 * How a delivery came to a member: said (its host took it from the author,
 * shown live or in a WELCOME), a relay its host merged (shown live, or in a
 * WELCOME to a member that joined after the merge), or by LATE (shown, but
 * in no history, the member's or its host's).
 */
type DeliveredHow = 'said' | 'merged live' | 'merged in a WELCOME' | 'late';

/** Shown as its host merged it, while the member watched: a live merge, or a LATE (also a relay, not from a WELCOME). */
function mergedLive(how: DeliveredHow): boolean {
  return how === 'merged live' || how === 'late';
}

interface Membership {
  node: SimNode;
  channel: string;
  calledAt: number;
  establishedAt?: number;
  endedAt?: number;
  endReason?: 'exit' | 'crash';
  /** Deliveries in arrival order (the checker judges order at the end), with their times. */
  delivered: Message[];
  deliveredAt: number[];
  /** Which host (`id@epoch`) each delivery came from. */
  deliveredFrom: string[];
  /** How each delivery came (the chat line's `relayed`, `fromHistory` and `late`). */
  deliveredHow: DeliveredHow[];
  /** Message -> its position in `delivered`. */
  deliveredSet: Map<Message, number>;
  /**
   * From each time a loss burst split it off to the burst's end: its node
   * suspected its host, or another member suspected the host it was with
   * and left it behind (the host's own membership among those).
   */
  lossSplits: LossSplit[];
  /** When it joined a host (member.joined, failover.finished), in order. */
  joinedAt: number[];
  /** Which host each of those joins was with (the last: its host now). */
  joinedHosts: Array<string | undefined>;
  /** And at which epoch: with the host, the hosting it joined. */
  joinedEpochs: Array<number | undefined>;
  /** When it joined another node's hosting (not its own takeover), in order. */
  rejoinedAt: number[];
  /** When it left a host it suspected (failover.started), in order, and which. */
  leftAt: number[];
  leftHosts: string[];
}

interface Message {
  text: string;
  channel: string;
  author: SimNode;
  /** Position among the author incarnation's messages in this channel. */
  order: number;
  saidAt: number;
  ackAt?: number;
  ackHost?: string;
  /** The acknowledging host's epoch: with ackHost, the hosting that acknowledged it. */
  ackEpoch?: number;
  holders: Set<SimNode>;
  /** Memberships that delivered it (whose histories hold it for a while). */
  holding: Membership[];
  deliveries: number;
}

interface CutSpan extends Span {
  cut: CutState;
}

interface LossSplit extends Span {
  /** Left behind with this host: the split matters for messages some other host acknowledged. */
  stayedWith?: string;
}

export interface DeliveryStats {
  /** say() calls the nodes accepted. */
  sent: number;
  /** Messages whose author saw its own echo. */
  acknowledged: number;
  /** Copies delivered to members other than the author (first copies per membership). */
  delivered: number;
  /** Extra copies (each one is also a violation). */
  duplicated: number;
  /** Acknowledged messages some staying member lacks while every holder is gone. */
  lost: number;
  /** (message, membership) pairs that had to be delivered. */
  required: number;
  /** ... and were not (each one a violation, unless the message is lost). */
  missing: number;
  /** (message, membership) pairs excused because the membership was disturbed. */
  excused: number;
  /** Required deliveries that came after a newer message of their author, as a repair after a disturbance (not a violation: see checkOrder). */
  lateRepairs: number;
  /** Required deliveries that came after a newer message of their author, merged by the host from a relay (not a violation: see checkOrder). */
  mergedLate: number;
  /** Deliveries a LATE frame brought: a message the host no longer held, offered again by a holder (docs/protocol.md 5.5). */
  byLate: number;
  /** Messages never acknowledged although their author stayed to the end (each one a violation). */
  unacknowledged: number;
}

export class DeliveryChecker {
  private readonly messages = new Map<string, Message>();
  private readonly memberships: Membership[] = [];
  /** node incarnation -> channel -> its current membership. */
  private readonly current = new Map<SimNode, Map<string, Membership>>();
  private readonly orderCounters = new Map<string, number>();
  private readonly freezes = new Freezes();
  /** `channel host` -> when that host's hostings of it closed (channel.closed), by which incarnation, in order. */
  private readonly hostingsClosed = new Map<string, Array<{ at: number; node: SimNode }>>();
  private readonly cuts: CutSpan[] = [];
  /** The loss burst running or last run. */
  private burst?: Span;
  /** Every loss burst, in order (a new one cuts the one running short). */
  private readonly bursts: Span[] = [];
  /** The longest loss burst: no loss split lasts longer (they end with their burst). */
  private longestBurstMs = 0;
  /** `channel host` -> the end of the burst in which a member left that host, or that host created the channel (who joins it then is split off). */
  private readonly leftBehind = new Map<string, number>();
  private openCut?: CutSpan;
  readonly lostReasons: string[] = [];
  readonly stats: DeliveryStats = {
    sent: 0,
    acknowledged: 0,
    delivered: 0,
    duplicated: 0,
    lost: 0,
    required: 0,
    missing: 0,
    excused: 0,
    lateRepairs: 0,
    mergedLate: 0,
    byLate: 0,
    unacknowledged: 0,
  };

  constructor(
    private readonly cluster: SimCluster,
    private readonly violations: Violations,
    private readonly graceMs: number,
    /** Messages every history holds (the nodes' historyLimit): bounds what a disturbance can be repaired for. */
    private readonly historyLimit: number,
    /** The longest a copy can travel one way (latency + reorder delay + 1 ms): how long after the ack M's copy may still be on its way. */
    private readonly inFlightMs = 0,
    /** How long after a disturbance its repair may take to begin: one detection time (4 X of figure 6). */
    private readonly repairStartMs = 0,
    /** How long a host gathers relays, or holds after a takeover, before it takes them (the nodes' relayWindowMs). */
    private readonly relayWindowMs = 0,
  ) {
    const now = () => cluster.scheduler.now();
    cluster.observe({
      joinCalled: (node, channel) => this.startMembership(node, channel, now()),
      exitCalled: (node, channel) => this.endMembership(node, channel, now(), 'exit'),
      crashed: (node) => {
        for (const channel of this.current.get(node)?.keys() ?? []) this.endMembership(node, channel, now(), 'crash');
        this.freezes.ended(node, now());
      },
      frozen: (node, frozen) => (frozen ? this.freezes.frozen(node, now()) : this.freezes.ended(node, now())),
      reachability: (cut) => {
        if (this.openCut) this.openCut.to = now();
        this.openCut = undefined;
        if (cut.active) this.cuts.push((this.openCut = { from: now(), to: Number.POSITIVE_INFINITY, cut }));
      },
      // A new burst replaces the one running (link-model.ts).
      lossBurst: (_rate, durationMs) => {
        if (this.burst !== undefined && this.burst.to > now()) this.burst.to = now();
        this.burst = { from: now(), to: now() + durationMs };
        this.bursts.push(this.burst);
        this.longestBurstMs = Math.max(this.longestBurstMs, durationMs);
      },
      said: (node, channel, text) => this.said(node, channel, text, now()),
      chat: (node, line) => this.chat(node, line, now()),
    });
  }

  /**
   * Feed every log record: `member.joined` establishes a membership, and it
   * and `failover.finished` say which host it is with; a `host.suspected`
   * during a loss burst splits the channel as a cut would: the suspecting
   * member off its host, and every membership still with that host off the
   * members that leave it, for messages another host acknowledges (seed
   * 262 of the 10-node campaign with private channels: the members of a
   * host left it in a 75% loss burst, and the host's own membership, alone
   * with it, missed what they said next; seed 23 at 5x chat with a private
   * channel: a member that stayed with its old host). A `failover.started`
   * during a burst splits its member off its host too, whether it suspected
   * the host or was promoted by a member that did (seed 23 at 10x chat: a
   * standby promoted by a JOIN left its host 10 ms before the host's own
   * user said what it never got), and leaves the memberships still with
   * that host behind as a suspicion does (seed 77 at 5x chat, --history 10:
   * a member sent to a host it could not reach in a 55% burst failed over
   * to a third node, which took the channel over, and the member left with
   * the host never had what was said there). A membership that joins a host left
   * behind so, before the burst ends, is split off with it (seed 2 at 5x
   * chat, --history 10: a newcomer joined the old host of a split 11 ms
   * after the first member left it).
   */
  onRecord(record: LogRecord, source: LogSource): void {
    const { event, channel } = record;
    if (typeof channel !== 'string') return;
    if (event !== 'member.joined' && event !== 'failover.finished' && event !== 'host.suspected' && event !== 'failover.started' && event !== 'channel.closed' && event !== 'channel.created' && event !== 'takeover') return;
    const node = this.cluster.node(source.id);
    if (!node || node.incarnation !== source.incarnation) return;
    if (event === 'channel.closed') {
      const key = closesKey(channel, node.id);
      const closes = this.hostingsClosed.get(key) ?? [];
      closes.push({ at: record.vt, node });
      this.hostingsClosed.set(key, closes);
      return;
    }
    if (event === 'channel.created' || event === 'takeover') {
      // Created or taken over in a loss burst, it may be a second host of a
      // channel whose host the creator did not hear: who joins it then is
      // split off from that host's members, and they from it (seed 39 at 5x
      // chat, --history 10: a node restarted in a 63% burst found no host
      // and created the channel again; when it yielded a second later, the
      // real host had said more than a history; seed 154, the same the other
      // way round: what the creator said never reached the real host's
      // members; seed 128 of `--nodes 6 --channels 2 --members 2 --history
      // 3 --rate 20`: a member took over from a host it had stopped hearing
      // in a 74% burst, a restarted node joined the takeover, and the old
      // host's last member said four messages before the split brain was
      // seen: its relay, its last three, could not carry the first).
      const burst = this.burst;
      if (burst === undefined || burst.to <= record.vt) return;
      this.leftBehind.set(`${channel} ${node.id}`, burst.to);
      this.splitOff(channel, { from: record.vt, to: burst.to }, (host) => host !== node.id);
      return;
    }
    const m = this.current.get(node)?.get(channel);
    if (!m) return;
    if (event === 'member.joined' || event === 'failover.finished') {
      if (event === 'member.joined') m.establishedAt ??= record.vt;
      if (typeof record.host === 'string') {
        const splitUntil = this.leftBehind.get(`${channel} ${record.host}`);
        if (splitUntil !== undefined && splitUntil > record.vt) m.lossSplits.push({ from: record.vt, to: splitUntil, stayedWith: record.host });
      }
      m.joinedAt.push(record.vt);
      m.joinedHosts.push(typeof record.host === 'string' ? record.host : undefined);
      m.joinedEpochs.push(typeof record.epoch === 'number' ? record.epoch : undefined);
      if (record.host !== node.id) m.rejoinedAt.push(record.vt);
      return;
    }
    if (event === 'failover.started' && typeof record.host === 'string') {
      m.leftAt.push(record.vt);
      m.leftHosts.push(record.host);
    }
    const burst = this.burst;
    if (burst === undefined || burst.to <= record.vt) return;
    m.lossSplits.push({ from: record.vt, to: burst.to });
    if (typeof record.host !== 'string') return;
    this.leftBehind.set(`${channel} ${record.host}`, burst.to);
    this.splitOff(channel, { from: record.vt, to: burst.to }, (host) => host === record.host, m);
  }

  /** Split every current membership of `channel` with a host that `withHost` picks (but `except`) off the rest, for messages other hosts acknowledge. */
  private splitOff(channel: string, span: Span, withHost: (host: string) => boolean, except?: Membership): void {
    for (const byChannel of this.current.values()) {
      const stayed = byChannel.get(channel);
      const host = stayed?.joinedHosts.at(-1);
      if (stayed && stayed !== except && stayed.endedAt === undefined && host !== undefined && withHost(host)) {
        stayed.lossSplits.push({ ...span, stayedWith: host });
      }
    }
  }

  private startMembership(node: SimNode, channel: string, at: number): void {
    const m: Membership = { node, channel, calledAt: at, delivered: [], deliveredAt: [], deliveredFrom: [], deliveredHow: [], deliveredSet: new Map(), lossSplits: [], joinedAt: [], joinedHosts: [], joinedEpochs: [], rejoinedAt: [], leftAt: [], leftHosts: [] };
    this.memberships.push(m);
    let byChannel = this.current.get(node);
    if (!byChannel) this.current.set(node, (byChannel = new Map()));
    byChannel.set(channel, m);
  }

  private endMembership(node: SimNode, channel: string, at: number, reason: 'exit' | 'crash'): void {
    const m = this.current.get(node)?.get(channel);
    if (!m || m.endedAt !== undefined) return;
    m.endedAt = at;
    m.endReason = reason;
  }

  private said(author: SimNode, channel: string, text: string, at: number): void {
    if (this.messages.has(text)) throw new Error(`workload reused the text ${text}: messages are told apart by text`);
    const key = `${author.id}/${author.incarnation}/${channel}`;
    const order = (this.orderCounters.get(key) ?? 0) + 1;
    this.orderCounters.set(key, order);
    this.messages.set(text, { text, channel, author, order, saidAt: at, holders: new Set(), holding: [], deliveries: 0 });
    this.stats.sent++;
  }

  private chat(node: SimNode, line: ChatLine, at: number): void {
    const msg = this.messages.get(line.text);
    if (!msg || msg.channel !== line.channel) return; // not the workload's (cannot happen) or a foreign channel
    const m = this.current.get(node)?.get(line.channel);
    if (!m) return;
    const isAuthor = node === msg.author;
    if (isAuthor && msg.ackAt === undefined) {
      msg.ackAt = at;
      // The echo's hosting, as its line says (see deliveredFrom below).
      msg.ackHost = line.host;
      msg.ackEpoch = line.epoch;
      const host = msg.ackHost === undefined ? undefined : this.cluster.node(msg.ackHost);
      if (host) msg.holders.add(host);
      this.stats.acknowledged++;
    }
    msg.holders.add(node);
    if (m.deliveredSet.has(msg)) {
      this.stats.duplicated++;
      this.violations.add({
        invariant: 'delivery',
        kind: 'duplicate',
        vt: at,
        nodes: [node.id, msg.author.id],
        message: `${node.id} got "${msg.text}" (by ${msg.author.id}, ${line.channel}) a second time${line.fromHistory ? ' (from history)' : ''}`,
      });
      return;
    }
    m.deliveredSet.set(msg, m.delivered.length);
    m.delivered.push(msg);
    m.deliveredAt.push(at);
    // The hosting whose stream brought it, as the line says: the member's
    // host by the time the line is shown may already be the next one (a
    // WELCOME and a MOVED in one chunk: seed 141 of `--nodes 16 --channels 4
    // --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms`).
    m.deliveredFrom.push(`${line.host}@${line.epoch}`);
    m.deliveredHow.push(line.late ? 'late' : !line.relayed ? 'said' : line.fromHistory ? 'merged in a WELCOME' : 'merged live');
    msg.holding.push(m);
    msg.deliveries++;
    if (!isAuthor) this.stats.delivered++;
    if (line.late) this.stats.byLate++;
  }

  /** The end-of-run judgement: missing, lost and reordered messages. */
  finish(endMs: number): void {
    const byChannel = new Map<string, Membership[]>();
    for (const m of this.memberships) {
      const list = byChannel.get(m.channel) ?? [];
      list.push(m);
      byChannel.set(m.channel, list);
    }
    // Half the history: a holder's deliveries lag its host's window by a
    // copy's way, so "among its last half" leaves room for that lag. A
    // history of one leaves none (a holder whose last delivery was m may
    // already be behind a host that took the next one: seed 186 of
    // `--nodes 6 --channels 2 --history 1`), so it promises no repair.
    // And a host may take many at one instant (a takeover's hold ending
    // takes all its members re-sent), more than half a history: so the
    // holder's deliveries are counted a copy's way past the moment the
    // window is taken (seed 56 of `--nodes 8 --channels 3 --rate 50
    // --history 10 --split-chunks`: a takeover's hold ended with 17
    // re-sent messages, and when M joined, a holder had delivered 3 of them).
    const coverage = Math.floor(this.historyLimit / 2);
    /** Per membership, its required messages, each with the end of its disturbance when it was one to repair. */
    const required = new Map<Membership, Map<Message, number | undefined>>();
    const lostCounted = new Set<Message>();
    for (const msg of this.messages.values()) {
      if (msg.ackAt === undefined) {
        this.checkUnacknowledged(msg, endMs);
        continue;
      }
      for (const m of byChannel.get(msg.channel) ?? []) {
        if (m.node === msg.author) continue;
        if (m.establishedAt === undefined || m.establishedAt > msg.saidAt) continue;
        if (m.endedAt !== undefined && m.endedAt < Math.min(msg.ackAt + this.graceMs, endMs)) continue;
        const disturbedUntil = this.disturbedUntil(m, msg);
        // A repair that began before m was acknowledged is over for m: M was
        // back with a host by then, and m is judged from its acknowledgement,
        // when its author holds it (seed 1: a loss split that ended 9 s
        // before m was said counted within the settle time, its repair began
        // a second after its end, and no holder, having got m only later,
        // counted as holding it then: a message M got live went unrequired).
        const repairAt = disturbedUntil === undefined ? undefined : Math.min(Math.max(this.repairBegins(m, disturbedUntil), msg.ackAt), endMs);
        if (repairAt !== undefined) {
          // A membership that ended before the repair could finish cannot be repaired.
          const lastedRepair = m.endedAt === undefined || m.endedAt >= Math.min(repairAt + this.graceMs, endMs);
          // A relay repairs only a host that has not seen m. When the host M
          // is with once the repair has begun has seen m (it acknowledged m
          // or delivered it), only that host's window can repair M, and a
          // holder with that host mirrors it (seed 63 at 5x chat, --history
          // 10: a member thawed and rejoined the acknowledging host, whose
          // window had moved on 13 messages, and the holder with m among its
          // last deliveries was cut off from everyone; seed 23 with
          // --history 20 --private 2: a member thawed, took over for 70 ms,
          // and yielded to the author's hosting, 22 messages on), unless a
          // cut kept it from that host since it got m: then its window
          // stood still (seed 37, 6 nodes, --history 5 --rate 20). That
          // window is judged when M joined that host, as its WELCOME carries
          // it then, and what the host accepts after the repair began moves
          // it on (seed 122 of `--nodes 6 --channels 2 --members 2 --history
          // 3 --rate 20 --split-chunks`: M rejoined two hosts that yielded
          // in turn; the third, whose own last delivery was m when the repair
          // began, ended its takeover's hold and accepted four messages its
          // user had re-sent, before M joined it 35 ms later).
          const repairJoin = lastJoin(m, repairAt + this.repairStartMs);
          const repairHost = repairJoin < 0 ? undefined : m.joinedHosts[repairJoin];
          const onlyItsWindow = repairHost !== undefined && seenBy(repairHost, msg, repairAt);
          const windowAt = onlyItsWindow ? Math.max(repairAt, m.joinedAt[repairJoin]!) : repairAt;
          // That host's own membership, when it holds m, is its window: a
          // member with it that relayed into its merge does not get back what
          // it relayed, so its deliveries undercount how far the window moved
          // (seed 219 of `--nodes 12 --channels 4 --history 10 --rate 60
          // --fault-gap 1s`: a host merged 26 relays of three sides at once,
          // past the 20 it keeps; a member of one side, with m 4 deliveries
          // back, seemed to hold it for a member that joined 2 ms later).
          const hostsOwn = onlyItsWindow ? msg.holding.find((h) => h.node.id === repairHost && (h.endedAt === undefined || h.endedAt > repairAt)) : undefined;
          const repairable = lastedRepair && (hostsOwn !== undefined ? [hostsOwn] : msg.holding).some((h) => {
            const index = h.deliveredSet.get(msg)!;
            const gotItAt = h.deliveredAt[index]!;
            return (
              h !== m &&
              // Got by LATE, m is in no history of h's, so h never relays it
              // nor has it to give as a host (seed 195 of the 16-node
              // campaign: a member got m by LATE, took the channel over, and
              // the members of the other side of a split brain joined it).
              h.deliveredHow[index] !== 'late' &&
              (h.endedAt === undefined || h.endedAt > repairAt) &&
              !this.frozenBetween(h.node, gotItAt, repairAt) &&
              laterDeliveries(h, msg, this.reachableAt(h.node.id, m.node.id, windowAt) + this.inFlightMs) < coverage &&
              (!onlyItsWindow || (hostAt(h, repairAt) === repairHost && !this.cutBetween(h.node.id, repairHost, gotItAt, repairAt)))
            );
          });
          // Excused is only what M did not get: what it got anyway is held
          // to the rest of the rules (order) like any required message.
          if (!repairable && !m.deliveredSet.has(msg)) {
            this.stats.excused++;
            continue;
          }
        }
        this.stats.required++;
        let set = required.get(m);
        if (!set) required.set(m, (set = new Map()));
        set.set(msg, repairAt);
        if (m.deliveredSet.has(msg)) continue;
        const gone = this.holdersGone(msg, endMs);
        if (gone !== undefined) {
          if (!lostCounted.has(msg)) {
            lostCounted.add(msg);
            this.stats.lost++;
            if (this.lostReasons.length < 100) this.lostReasons.push(`"${msg.text}" (${msg.channel}, acked ${formatVt(msg.ackAt)} by ${msg.ackHost ?? '?'}): ${gone}`);
          }
          continue;
        }
        this.stats.missing++;
        this.violations.add({
          invariant: 'delivery',
          kind: 'missing',
          vt: endMs,
          nodes: [m.node.id, msg.author.id, ...(msg.ackHost ? [msg.ackHost] : [])],
          message:
            `${m.node.id} (member of ${msg.channel} since ${formatVt(m.establishedAt)}) never got "${msg.text}" ` +
            `said by ${msg.author.id} at ${formatVt(msg.saidAt)}, acknowledged at ${formatVt(msg.ackAt)} by host ${msg.ackHost ?? '?'}; ` +
            `holders still alive: ${[...msg.holders].filter((h) => h.alive).map((h) => h.id).join(',') || 'none'}`,
        });
      }
    }
    for (const [m, set] of required) this.checkOrder(m, set);
  }

  private checkUnacknowledged(msg: Message, endMs: number): void {
    const m = this.membershipAt(msg.author, msg.channel, msg.saidAt);
    if (!m || (m.endedAt !== undefined && m.endedAt <= endMs)) return;
    this.stats.unacknowledged++;
    this.violations.add({
      invariant: 'delivery',
      kind: 'unacknowledged',
      vt: endMs,
      nodes: [msg.author.id],
      message: `${msg.author.id} said "${msg.text}" in ${msg.channel} at ${formatVt(msg.saidAt)}, stayed in the channel, and never saw it acknowledged`,
    });
  }

  /** The membership of `node` in `channel` that was current at `at`. */
  private membershipAt(node: SimNode, channel: string, at: number): Membership | undefined {
    return lastWhere(this.memberships, (m) => m.node === node && m.channel === channel && m.calledAt <= at);
  }

  /**
   * Per author, the required messages a membership delivered came in the
   * author's order. Except a repair: a message M missed while disturbed
   * (frozen, cut off) may come after a newer one of its author that another
   * host gave M before the repair could be over (the disturbance's end plus
   * graceMs), a host whose window no longer held the older one. M could not
   * have it sooner, and delivering it late is the alternative to losing it
   * (seed 99 at 5x chat: frozen, then moved to a side whose window had
   * dropped the message; the host of the side that kept it won the merge).
   * From one host (its WELCOME, then its stream) the order must hold
   * whatever the disturbance (F10 was a WELCOME out of order), but for what
   * the host merged from a relay after a failover or a split brain: it may
   * come behind a newer message of its author that the host accepted before
   * the merge, and the members live then get it in that order
   * (docs/protocol.md 5.5; seed 6 at 10x chat, seed 98 with faults every
   * 500 ms: after a split brain the winner merged an author's messages
   * acknowledged on the other side behind one it had taken live), or the
   * other way round (resentAfterMerge).
   */
  private checkOrder(m: Membership, required: Map<Message, number | undefined>): void {
    const lastOrder = new Map<SimNode, Message>();
    m.delivered.forEach((msg, index) => {
      if (!required.has(msg)) return;
      const previous = lastOrder.get(msg.author);
      if (previous && previous.order > msg.order) {
        if (mergedLive(m.deliveredHow[index]!) || this.resentAfterMerge(m, previous, msg)) {
          this.stats.mergedLate++;
        } else if (this.isLateRepair(m, index, previous, required.get(msg))) {
          this.stats.lateRepairs++;
        } else {
          this.violations.add({
            invariant: 'delivery',
            kind: 'order',
            vt: msg.ackAt ?? msg.saidAt,
            nodes: [m.node.id, msg.author.id],
            message: `${m.node.id} got "${previous.text}" before "${msg.text}" in ${m.channel}; ${msg.author.id} said them the other way round`,
          });
        }
      }
      if (!previous || previous.order < msg.order) lastOrder.set(msg.author, msg);
    });
  }

  /**
   * The other side of the merge-order exception: `newer` came to `m` merged
   * from a relay, while the older `msg` was still in its author's outbox
   * (acknowledged only later), so it could only come behind it, when its
   * author re-sent it to the host (seed 67 of `--nodes 16 --channels 4
   * --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms`: a
   * member relayed the author's last message of three, the other two had
   * left its history; the author re-sent all three 3.8 s later). `newer`
   * may come live or in the WELCOME of a member that joins after the
   * merge (seed 45 of that campaign with `--split-chunks`).
   */
  private resentAfterMerge(m: Membership, newer: Message, msg: Message): boolean {
    const newerIndex = m.deliveredSet.get(newer)!;
    if (m.deliveredHow[newerIndex] === 'said' || msg.ackAt === undefined) return false;
    // When that hosting merged `newer`: its first delivery from it anywhere
    // (M's own may come much later, after a freeze).
    const hosting = m.deliveredFrom[newerIndex];
    return msg.ackAt > firstDeliveryAt(newer, (h, i) => h.deliveredFrom[i] === hosting);
  }

  /** The delivery at `index` of `m`, disturbed until `repairAt`, repairs late what another host's `newer` overtook before the repair could be over. */
  private isLateRepair(m: Membership, index: number, newer: Message, repairAt: number | undefined): boolean {
    if (repairAt === undefined) return false;
    const newerIndex = m.deliveredSet.get(newer)!;
    return m.deliveredFrom[newerIndex] !== m.deliveredFrom[index] && m.deliveredAt[newerIndex]! <= repairAt + this.graceMs;
  }

  /**
   * The end of the disturbance of `m`'s node around `msg`, or undefined if it
   * was not disturbed: a freeze of the node, a cut between it and the
   * message's author or acknowledging host, or a loss burst that made the
   * member suspect its host (from then to the burst's end). One that begins
   * before the one in progress has ended continues it: the repair cannot
   * start while the node is still frozen or cut off (seed 66, 10 nodes,
   * 2 min: a member frozen while the message was said, then cut from its
   * host by a partition that began during the freeze, left before the heal;
   * seed 66, 20 nodes, 3 min: a loss burst split the channel, a partition
   * that began during it kept the member from the message's host, and the
   * member crashed before the heal).
   */
  private disturbedUntil(m: Membership, msg: Message): number | undefined {
    const from = msg.saidAt;
    const to = msg.ackAt!;
    const id = m.node.id;
    // A disturbance that begins while the host's copy of m to M may still be
    // on its way (sent with the author's echo, so at most inFlightMs after
    // the ack) disturbs M as one before the ack does: a cut keeps the copy
    // from M (seed 32 at 5x chat: a partition 3 ms after the ack); a loss
    // split makes M give up the connection the copy is on (seed 79 of
    // `--nodes 6 --channels 2 --history 1 --split-chunks`: M suspected its
    // host 0.5 ms after the ack); a freeze of M's node leaves the copy
    // unread until the thaw (seed 200 of `--nodes 12 --channels 4 --history
    // 10 --rate 60 --fault-gap 1s`: a freeze 0.5 ms after the ack, a
    // partition 2.5 s into it, when the copy still waited in the pipe, as
    // it did until the seventeenth session).
    const early = (span: Span): Span => ({ from: span.from - this.inFlightMs, to: span.to });
    const spans: Span[] = this.freezes.of(m.node).map(early);
    // M's loss splits, in the order they began, each over by its burst's
    // end: only those from the first that can reach [s, a] on can count,
    // and a scan stops at the first that begins too late (a membership
    // through an hour of faults gathers thousands: scanned whole for every
    // message it had, they made the check quadratic in the run's length).
    const splits = m.lossSplits;
    const counts = (split: LossSplit): boolean => split.stayedWith === undefined || split.stayedWith !== msg.ackHost;
    const firstSplit = firstIndex(0, splits.length, (i) => splits[i]!.from >= from - this.graceMs - this.longestBurstMs);
    // M's host is M's side too: a cut that keeps the host M was with (when m
    // was said or acknowledged) from the message's author or acknowledging
    // host cuts M off as one between them would (seed 96 at 5x chat,
    // --history 10: a one-way cut put a member and its host on different
    // sides; the member still heard its host and stayed with it, while a
    // node on its own side took the channel over and acknowledged what the
    // member got only from a WELCOME 3.7 s later; seed 212 of `--nodes 6
    // --channels 2 --history 1`: a member with a host cut off alone when m
    // was said failed over to the acknowledging host 0.3 ms after it had
    // released its takeover hold, and its WELCOME had only the last).
    const joinAtAck = lastJoin(m, to);
    const hostAtAck = joinAtAck < 0 ? undefined : m.joinedHosts[joinAtAck];
    const sides = [id];
    for (const host of [hostAt(m, from), hostAtAck]) {
      if (host !== undefined && host !== msg.ackHost && !sides.includes(host)) sides.push(host);
    }
    const separated = (cut: CutState, other: string): boolean => sides.some((side) => cut.separates(side, other));
    // M with another hosting than the one that acknowledged m (another host,
    // or the same host at another epoch) is on the other side of a split
    // brain, or between hosts, until it joins another node's hosting: m
    // reaches it only through a merge's relay or its next host's WELCOME,
    // both bounded by the history (seed 44 of `--nodes 12 --channels 4
    // --history 10 --rate 60 --fault-gap 1s`: a member joined one side of
    // a split brain that a loss burst kept from resolving after the
    // partition that made it had healed; seed 194: a member's host yielded
    // and took the channel over again at a higher epoch while the member,
    // sent on by MOVED, waited for the winner's PDU).
    const epochAtAck = joinAtAck < 0 ? undefined : m.joinedEpochs[joinAtAck];
    const otherHosting = hostAtAck !== msg.ackHost || (epochAtAck !== undefined && msg.ackEpoch !== undefined && epochAtAck !== msg.ackEpoch);
    if (msg.ackHost !== undefined && hostAtAck !== undefined && otherHosting) {
      spans.push({ from: to, to: this.rejoinedOrEnded(m, to) });
    }
    // And a freeze of such a host cuts M off as one of its own node would:
    // everything reaches M through its host (seed 103 of `--nodes 10
    // --history 3 --rate 20`: a restarted node did not hear the frozen host
    // and created the channel again, took five messages of its user, and
    // yielded to the members' takeover with the last three).
    for (const host of sides) if (host !== id) spans.push(...this.freezes.ofId(host));
    // A member that left the acknowledging host while it was frozen (or
    // before its first PDU after the thaw could arrive) is on the other side
    // of a split brain until the host yields: what the host acknowledges on
    // thawing reaches it only by a relay (seed 30 of `--nodes 6 --channels
    // 2 --history 1`: the thawed host took two SAYs queued in its socket,
    // then yielded to the takeover with the last; seed 177, the member's
    // timer ran out a millisecond after the thaw).
    if (msg.ackHost !== undefined && m.leftAt.length > 0) {
      for (const freeze of this.freezes.ofId(msg.ackHost)) {
        const heardAgain = freeze.to + this.inFlightMs;
        for (let i = firstIndex(0, m.leftAt.length, (j) => m.leftAt[j]! >= freeze.from); i < m.leftAt.length && m.leftAt[i]! <= heardAgain; i++) {
          if (m.leftHosts[i] === msg.ackHost) spans.push({ from: m.leftAt[i]!, to: Math.max(freeze.to, m.leftAt[i]!) });
        }
      }
    }
    for (const span of this.cuts) {
      if (separated(span.cut, msg.author.id) || (msg.ackHost !== undefined && separated(span.cut, msg.ackHost))) spans.push(early(span));
    }
    let until: number | undefined;
    for (const span of spans) if (span.from <= to && span.to + this.graceMs >= from) until = Math.max(until ?? span.to, span.to);
    // Loss splits too may begin a copy's way after the ack (`early`, above).
    for (let i = firstSplit; i < splits.length && splits[i]!.from - this.inFlightMs <= to; i++) {
      const split = splits[i]!;
      if (counts(split) && split.to + this.graceMs >= from) until = Math.max(until ?? split.to, split.to);
    }
    for (let grew = until !== undefined; grew; ) {
      grew = false;
      const repairOver = this.repairOver(m, msg, until!);
      // M's host closing its hosting before the repair is over (it yielded
      // a split brain and sent M on by MOVED) cuts the repair short: M, and
      // whatever its host had for it, must reach the next host first, so the
      // repair goes on until M joins one (seed 513 of `--nodes 12 --channels
      // 4 --history 10 --rate 60 --fault-gap 1s`: a member joined the winner
      // of one split brain 0.9 s after m was said on a third side; that host
      // lost to the third side 72 ms later, and the member, in a 66% burst,
      // found the last winner 0.9 s after that, 10 messages on).
      const closedAt = this.hostClosedDuringRepair(m, until!, repairOver);
      if (closedAt !== undefined) {
        const next = this.rejoinedOrEnded(m, closedAt);
        if (next > until!) {
          until = next;
          grew = true;
        }
      }
      for (const span of spans) {
        if (span.from <= repairOver && span.to > until!) {
          until = span.to;
          grew = true;
        }
      }
      for (let i = firstSplit; i < splits.length && splits[i]!.from <= repairOver; i++) {
        const split = splits[i]!;
        if (counts(split) && split.to > until!) {
          until = split.to;
          grew = true;
        }
      }
      // A loss burst is no disturbance of its own (streams lose nothing),
      // but one under way before the repair is over delays the repair, up to
      // M's rejoining a host: the repair starts from datagrams (the other
      // side found again, the rival host's announcement that ends a split
      // brain), which the burst drops while the histories move on (seed 77
      // with --history 20: a 61% burst began 50 ms before a heal, and a host
      // cut off with its own member heard the winner 1.3 s later, when the
      // winner's history had moved on by more than it holds).
      for (const burst of this.bursts) {
        if (burst.from > repairOver || burst.to <= until!) continue;
        const delayedTo = Math.min(burst.to, joinedSince(m, until!));
        if (delayedTo > until!) {
          until = delayedTo;
          grew = true;
        }
      }
    }
    return until;
  }

  /** When `m` next joined another node's hosting at or after `at`, or else ended (or now, if it has not). */
  private rejoinedOrEnded(m: Membership, at: number): number {
    const rejoined = joinedSince(m, at);
    return Number.isFinite(rejoined) ? rejoined : (m.endedAt ?? this.cluster.scheduler.now());
  }

  /** When the host `m` is with at `until` closed that hosting, if it did by `repairOver` and before `m` joined another host. */
  private hostClosedDuringRepair(m: Membership, until: number, repairOver: number): number | undefined {
    const join = lastJoin(m, until);
    const host = join < 0 ? undefined : m.joinedHosts[join];
    if (host === undefined || host === m.node.id) return undefined;
    const closes = this.hostingsClosed.get(closesKey(m.channel, host)) ?? [];
    const i = firstIndex(0, closes.length, (j) => closes[j]!.at >= m.joinedAt[join]!);
    const closedAt = closes[i]?.at;
    const nextJoin = m.joinedAt[join + 1];
    if (closedAt === undefined || closedAt > repairOver || (nextJoin !== undefined && nextJoin <= closedAt)) return undefined;
    return closedAt;
  }

  /**
   * When the repair after a disturbance of `m` that ended at `until`
   * begins: when `m` joined a host again, at the latest one detection time
   * later (a member whose host stayed with it is repaired by its host's
   * merge). Finding the other side again takes PDUs: a member cut off from
   * its host that failed over to itself took over 310 ms after the heal,
   * and by then the side that had acknowledged m had said 10 more, a whole
   * history (seed 69, 8 nodes, --history 10 --rate 50). With the default
   * history a window spans many detection times, so this costs the check
   * nothing there.
   */
  private repairBegins(m: Membership, until: number): number {
    return Math.min(joinedSince(m, until), until + this.repairStartMs);
  }

  /**
   * When the repair of `msg` for `m`, after a disturbance that ended at
   * `until`, is over: `m` joined a host again (its first member.joined or
   * failover.finished since) and that host has taken what it gathered
   * meanwhile (relays, and the re-sends of a takeover, are held for its
   * relayWindowMs) and sent it a copy's way; at the latest the settle time
   * later (a member whose host stayed with it is repaired by its host's
   * merge). A disturbance that begins before continues the one so far: the
   * repair was cut short (seed 132, 10 nodes, 5x chat: a member rejoining
   * after a heal was cut off again by a partition 0.6 s later, before its
   * WELCOME; seed 43 of `--nodes 12 --channels 4 --history 10 --rate 60
   * --fault-gap 1s --split-chunks`: a member joined the winner of a split
   * brain, whose merge of the loser's relay, the repair, came 250 ms later,
   * after a partition had cut the member off).
   */
  private repairOver(m: Membership, msg: Message, until: number): number {
    const joined = joinedSince(m, until);
    let over = joined + this.relayWindowMs + this.inFlightMs;
    // A host that has not seen m by then gets it only from a holder's relay,
    // and the holder may be late with it (frozen, or in a loss burst, before
    // it yields to M's host): the repair is over once that host has it, a
    // copy's way later (seed 173 of `--nodes 8 --channels 2 --rate 40
    // --history 5 --pdu-interval 500 --fault-gap 500ms`: the acknowledging
    // host froze before it saw M's new host, relayed m into it 4.5 s after
    // M had joined, and a partition had cut M off from it meanwhile).
    const host = Number.isFinite(joined) ? hostAt(m, joined) : undefined;
    if (host !== undefined) over = Math.max(over, seenAt(host, msg) + this.inFlightMs);
    return Math.min(over, until + this.graceMs);
  }

  /**
   * Whether `node` was frozen at some time from `from` (when it got m) to
   * `to`. A frozen holder gives nothing, and its few deliveries since m say
   * nothing of its window: thawed, it first takes in what its host sent
   * meanwhile, and with it its host's window, which may have moved past m
   * (seed 167, 10 nodes, 5x chat: the one holder with m among its last
   * deliveries was frozen; thawed, its window was its host's, 136 messages
   * on). So it does not count even when it thawed before the repair began:
   * a host that acknowledged m, frozen, thawed 150 ms before a heal, lost
   * the split brain, and its member joined the winner, whose window had
   * moved past m (seed 95, 10 nodes, --history 20 --private 2 --churn 1).
   * Nor does one that got m at the instant it thawed: it got m with what
   * was queued for it (seed 79 of `--nodes 12 --channels 4 --history 10
   * --rate 60 --fault-gap 1s`: the holder had delivered 4 since, its host
   * 22).
   */
  private frozenBetween(node: SimNode, from: number, to: number): boolean {
    return this.freezes.between(node, from, to) || this.freezes.thawedAt(node, from);
  }

  /** Whether a cut separated nodes `a` and `b` at some time from `from` to `to`. */
  private cutBetween(a: string, b: string, from: number, to: number): boolean {
    return this.cuts.some((span) => overlaps(span, from, to) && span.cut.separates(a, b));
  }

  /**
   * When `a` and `b` can next reach each other at or after `at`: the end of
   * the cuts between them running then (Infinity if one lasts to the end).
   * A holder cut off from M when M's repair begins offers m only once it
   * can reach M's host, so its window is judged then: seed 111 of `--nodes
   * 16 --channels 4 --rate 80 --churn 1 --history 10 --private 1
   * --fault-gap 700ms`, once a frozen kernel took what arrived: the holder
   * n3, across a partition, still held m when M rejoined, then took its own
   * 30 re-sent messages over as the host of its side, and by the heal its
   * history had moved on.
   */
  private reachableAt(a: string, b: string, at: number): number {
    let reach = at;
    for (let moved = true; moved && reach !== Number.POSITIVE_INFINITY; ) {
      moved = false;
      for (const span of this.cuts) {
        if (span.from <= reach && reach < span.to && span.cut.separates(a, b)) {
          reach = span.to;
          moved = true;
        }
      }
    }
    return reach;
  }

  /** Why every holder of `msg` is gone, or undefined if one is still there. */
  private holdersGone(msg: Message, endMs: number): string | undefined {
    const reasons: string[] = [];
    for (const holder of msg.holders) {
      if (holder.crashedAt !== undefined) {
        reasons.push(`${holder.id} crashed at ${formatVt(holder.crashedAt)}`);
        continue;
      }
      // A node holds m in the latest of its memberships that delivered it: one
      // that left and joined again starts over from its new host's history,
      // which need not have m.
      const m = lastWhere(msg.holding, (h) => h.node === holder);
      if (m !== undefined && (m.endedAt === undefined || m.endedAt > endMs)) return undefined;
      if (m !== undefined) reasons.push(`${holder.id} left at ${formatVt(m.endedAt!)}`);
      if (holder.id !== msg.ackHost) continue;
      // The acknowledging host holds m in its hosting, whatever its user
      // did, until the hosting closes (the last member left, or it yielded
      // to a rival, whose members relay what they hold; seed 7 of the
      // 10-node campaign with churn and a private channel: the host's side
      // of a partition all left before the split brain was seen, and the
      // host closed the channel, the last copy of what they had said).
      const closedAt = this.hostingsClosed.get(closesKey(msg.channel, holder.id))?.find((c) => c.node === holder && c.at >= msg.ackAt! && c.at <= endMs)?.at;
      if (closedAt === undefined) return undefined;
      reasons.push(`${holder.id} closed the channel at ${formatVt(closedAt)}`);
    }
    return `every holder is gone: ${reasons.join(', ') || 'none known'}`;
  }
}

/** When node `id` first had `msg`: it acknowledged it, or delivered it (Infinity if never). */
function seenAt(id: string, msg: Message): number {
  if (msg.ackHost === id) return msg.ackAt!;
  return firstDeliveryAt(msg, (h) => h.node.id === id);
}

/** The first delivery of `msg` by a membership `where` picks (given the delivery's index in it); Infinity if none. */
function firstDeliveryAt(msg: Message, where: (h: Membership, index: number) => boolean): number {
  let first = Number.POSITIVE_INFINITY;
  for (const h of msg.holding) {
    const index = h.deliveredSet.get(msg)!;
    if (where(h, index)) first = Math.min(first, h.deliveredAt[index]!);
  }
  return first;
}

/** The key of `hostingsClosed`: a channel and a host id. */
function closesKey(channel: string, hostId: string): string {
  return `${channel} ${hostId}`;
}

/** Whether node `id` had seen `msg` by `at`: it acknowledged it as host, or a membership of it delivered it. */
function seenBy(id: string, msg: Message, at: number): boolean {
  return msg.ackHost === id || msg.holding.some((h) => h.node.id === id && h.deliveredAt[h.deliveredSet.get(msg)!]! <= at);
}

/** The host `m` was with at `at` (its last join by then). */
function hostAt(m: Membership, at: number): string | undefined {
  const join = lastJoin(m, at);
  return join < 0 ? undefined : m.joinedHosts[join];
}

/** The index of `m`'s last join at or before `at` (-1 if none). */
function lastJoin(m: Membership, at: number): number {
  return firstIndex(0, m.joinedAt.length, (i) => m.joinedAt[i]! > at) - 1;
}

/**
 * When `m` first joined another node's hosting at or after `at` (Infinity
 * if it did not). Joining its own takeover repairs nothing: what it missed
 * comes from the other side, at a merge (seed 46, 12 nodes, --history 10
 * --rate 60 --fault-gap 1s: a member took the channel over 770 ms after a
 * heal, froze 130 ms later, and the merge came 16 s after that).
 */
function joinedSince(m: Membership, at: number): number {
  const i = firstIndex(0, m.rejoinedAt.length, (j) => m.rejoinedAt[j]! >= at);
  return i < m.rejoinedAt.length ? m.rejoinedAt[i]! : Number.POSITIVE_INFINITY;
}

/** The first index in [lo, hi) for which the monotone `isAtOrPast` holds (hi if none): a binary search. */
function firstIndex(lo: number, hi: number, isAtOrPast: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (isAtOrPast(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function lastWhere<T>(items: readonly T[], match: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (match(items[i]!)) return items[i];
  return undefined;
}

/** Deliveries of membership `h` after `msg` and at or before `until` (Infinity if `h` got `msg` itself only later). */
function laterDeliveries(h: Membership, msg: Message, until: number): number {
  const index = h.deliveredSet.get(msg)!;
  const times = h.deliveredAt;
  if (times[index]! > until) return Number.POSITIVE_INFINITY;
  return firstIndex(index + 1, times.length, (i) => times[i]! > until) - (index + 1);
}
