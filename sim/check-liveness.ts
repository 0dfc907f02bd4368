// Invariant (c), liveness per figure 6: no peer is marked `disconnected`
// while its PDUs were being delivered to the observer.
//
// The simulator sees every datagram that reaches a node's code (SimCluster
// reports each delivery per (receiver, sender)). Figure 6 declares a peer
// disconnected only after 4X without a PDU (X in timerAlive, three more in
// maybeDisconnected), so a `peer.state ... disconnected` line of receiver R
// about peer P is a violation when R's code was handed a datagram from P's
// host less than 4X before it.
//
// Slack: a datagram that overtook a later one is an older seq, and the
// second copy of a duplicated one a part heard already: neither refreshes
// anything (protocol section 4). Independent latencies let a datagram arrive
// after one sent up to latencyMsMax + reorderDelayMsMax later (and a
// duplicate that much after its first copy), so the gap is allowed to fall
// short of 4X by that much plus one scheduler millisecond.
import { decodeShared } from '../lib/node/pdu-decode-cache.ts';
import type { SimCluster, SimNode } from './cluster.ts';
import type { LogRecord, LogSource } from './event-log.ts';
import type { Violations } from './violations.ts';

/**
 * Expiries of X before `disconnected` (figure 6: timerAlive once,
 * maybeDisconnected three times). The checker's own reading of the draft,
 * not peer-liveness.ts's FAIL_TIMER_MAX: an oracle that takes the rule from
 * the code it checks passes whatever the code says.
 */
const SILENT_TIMEOUTS = 4;

export class LivenessChecker {
  private readonly size: number;
  /** receiver * size + sender -> virtual ms of the last datagram handed to the receiver's code. */
  private readonly lastDelivery: Float64Array;
  readonly requiredSilenceMs: number;
  /** receiver * size + sender -> the newest round the receiver was handed (incarnation, seq, parts heard). */
  private readonly newest: Array<{ incarnation: number; seq: number; parts: number } | undefined> = [];
  checked = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly violations: Violations,
    /** X, the nodes' liveness timeout (a setting, not a rule). */
    livenessTimeoutMs: number,
    private readonly slackMs: number,
  ) {
    this.size = cluster.size;
    this.lastDelivery = new Float64Array(this.size * this.size).fill(Number.NEGATIVE_INFINITY);
    this.requiredSilenceMs = SILENT_TIMEOUTS * livenessTimeoutMs;
    const scheduler = cluster.scheduler;
    const last = this.lastDelivery;
    const size = this.size;
    cluster.observe({
      datagram: (receiver, sender, datagram) => {
        // Only a datagram that refreshes (protocol 4: a newer round, or a
        // part of the newest round not heard yet) counts: then no slack for
        // overtaken or duplicated copies is needed, and a timer that fires
        // a slot early is seen.
        const pair = receiver.index * size + sender;
        let part;
        try {
          part = decodeShared(datagram, undefined);
        } catch {
          last[pair] = scheduler.now();
          return;
        }
        const known = this.newest[pair];
        const newer =
          known === undefined ||
          (part.incarnation !== known.incarnation ? part.incarnation > known.incarnation : part.seq !== known.seq ? part.seq > known.seq : Math.floor(known.parts / 2 ** part.part) % 2 === 0);
        if (!newer) return;
        if (known === undefined || part.incarnation !== known.incarnation || part.seq !== known.seq) this.newest[pair] = { incarnation: part.incarnation, seq: part.seq, parts: 2 ** part.part };
        else known.parts += 2 ** part.part;
        last[pair] = scheduler.now();
      },
      // A new process knows nobody: deliveries to the dead one don't count.
      started: (node) => this.forgetReceiver(node),
      crashed: (node) => this.forgetReceiver(node),
    });
  }

  /** Feed every log record. */
  onRecord(record: LogRecord, source: LogSource): void {
    if (record.event !== 'peer.state' || record.state !== 'disconnected') return;
    const receiver = this.cluster.node(source.id);
    const peer = typeof record.peer === 'string' ? this.cluster.node(record.peer) : undefined;
    if (!receiver || !peer) return;
    this.checked++;
    const lastAt = this.lastDelivery[receiver.index * this.size + peer.index]!;
    const silenceMs = record.vt - lastAt;
    if (silenceMs + this.slackMs < this.requiredSilenceMs) {
      this.violations.add({
        invariant: 'liveness',
        kind: 'disconnected-while-delivering',
        vt: record.vt,
        nodes: [source.id, peer.id],
        message:
          `${source.id} marked ${peer.id} disconnected ${silenceMs.toFixed(3)} ms after a datagram of ${peer.id} ` +
          `was delivered to it (figure 6 needs ${this.requiredSilenceMs} ms of silence, slack ${this.slackMs} ms)`,
      });
    }
  }

  private forgetReceiver(node: SimNode): void {
    this.lastDelivery.fill(Number.NEGATIVE_INFINITY, node.index * this.size, (node.index + 1) * this.size);
    for (let i = node.index * this.size; i < (node.index + 1) * this.size; i++) this.newest[i] = undefined;
  }
}
