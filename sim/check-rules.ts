// Invariant (e), protocol rules, while running: the decisions the nodes log
// obey docs/protocol.md as the checker reads it (its own reading, not
// machines/rules.ts):
// - 5.6: a host that yields (`splitbrain.resolved`) yields to a winning
//   hosting: the higher epoch, on a tie the lower host id (byte order);
// - 5.3: a takeover (`takeover`) hosts at the epoch its member last knew
//   (its `failover.started`) + 1;
// - 5.4: a failover's pick (the first of `failover.started`'s candidates)
//   is no peer its node declared disconnected during this membership and
//   has not discovered again since;
// - and at the end, takeovers in proportion to the faults (finish).
// Written by the mutation review of 8 December 2026: with the outcome
// checks alone, a split-brain rule that ignored epochs, a takeover at the
// old epoch and a failover to a peer known dead all passed, since any
// consistent rule converges in the end.
import type { LogRecord, LogSource } from './event-log.ts';
import type { Violations } from './violations.ts';

const MAX_WIRE_NUMBER = 2 ** 53 - 1;

export class RulesChecker {
  /** node \0 channel -> the epoch of its latest failover.started. */
  private readonly failoverEpoch = new Map<string, number>();
  /** node \0 channel -> the line number of its user's latest join. */
  private readonly joinedAt = new Map<string, number>();
  /** node \0 peer -> the line number of its latest `peer.state disconnected` about peer (until rediscovered). */
  private readonly downAt = new Map<string, number>();
  private line = 0;
  private takeoverCount = 0;
  checked = 0;

  constructor(private readonly violations: Violations) {}

  onRecord(record: LogRecord, source: LogSource): void {
    const r = record as Record<string, unknown> & LogRecord;
    const line = ++this.line;
    if (r.event === 'sim.join' && typeof r.target === 'string') {
      this.joinedAt.set(`${r.target}\0${String(r.channel)}`, line);
    } else if (r.event === 'peer.state' && r.state === 'disconnected' && typeof r.peer === 'string') {
      this.downAt.set(`${source.id}\0${r.peer}`, line);
    } else if (r.event === 'peer.discovered' && typeof r.peer === 'string') {
      this.downAt.delete(`${source.id}\0${r.peer}`);
    }
    if (r.event === 'failover.started' && typeof r.channel === 'string' && typeof r.epoch === 'number') {
      this.failoverEpoch.set(`${source.id}.${source.incarnation}\0${r.channel}`, r.epoch);
      const pick = Array.isArray(r.candidates) ? r.candidates[0] : undefined;
      const downAt = typeof pick === 'string' && pick !== source.id ? this.downAt.get(`${source.id}\0${pick}`) : undefined;
      this.checked++;
      if (downAt !== undefined && downAt > (this.joinedAt.get(`${source.id}\0${r.channel}`) ?? 0)) {
        this.violations.add({
          invariant: 'hosting',
          kind: 'down-candidate',
          vt: r.vt,
          nodes: [source.id, String(pick)],
          message: `${source.id} failed over in ${r.channel} to ${String(pick)}, which it had declared disconnected (docs/protocol.md 5.4: the first standby that is not disconnected)`,
        });
      }
    } else if (r.event === 'splitbrain.resolved') {
      this.checked++;
      const { winner, winnerEpoch, loser, loserEpoch } = r as unknown as { winner: string; winnerEpoch: number; loser: string; loserEpoch: number };
      const wins = winnerEpoch !== loserEpoch ? winnerEpoch > loserEpoch : winner < loser;
      if (!wins) {
        this.violations.add({
          invariant: 'hosting',
          kind: 'wrong-winner',
          vt: r.vt,
          nodes: [loser, winner],
          message: `${loser}@${loserEpoch} yielded ${String(r.channel)} to ${winner}@${winnerEpoch}, which loses by the split-brain rule (higher epoch, then lower id)`,
        });
      }
    } else if (r.event === 'takeover' && typeof r.channel === 'string' && typeof r.epoch === 'number') {
      this.checked++;
      this.takeoverCount++;
      const known = this.failoverEpoch.get(`${source.id}.${source.incarnation}\0${r.channel}`);
      if (known !== undefined && r.epoch !== Math.min(known + 1, MAX_WIRE_NUMBER)) {
        this.violations.add({
          invariant: 'hosting',
          kind: 'takeover-epoch',
          vt: r.vt,
          nodes: [source.id],
          message: `${source.id} took ${r.channel} over at epoch ${r.epoch}; its member knew epoch ${known} (a takeover hosts at epoch + 1)`,
        });
      }
    }
  }

  /**
   * Takeovers come from faults: a crash, a freeze, a cut or a loss burst
   * costs each channel it touches a takeover, and a partition touches every
   * channel on both its sides. Campaigns take at most 0.55 a fault step and
   * channel (24 nodes, 8 channels, no standbys: 367 for 83 steps; the first
   * budget, 4 a step plus 4 a channel, failed that honest run). A member
   * that ignored MOVED made hosts take over from each other in turn: 15,824
   * takeovers in 2 minutes of 12 nodes and 4 channels, a bug even where
   * the cluster settles in the end.
   */
  finish(endMs: number, faultSteps: number, channels: number): void {
    const budget = 2 * channels * faultSteps + 4 * channels;
    if (this.takeoverCount > budget) {
      this.violations.add({
        invariant: 'hosting',
        kind: 'takeover-storm',
        vt: endMs,
        nodes: [],
        message: `${this.takeoverCount} takeovers for ${faultSteps} fault steps in ${channels} channels (budget ${budget})`,
      });
    }
  }
}
