// The users of a simulated cluster, drawn from one seeded random stream:
// every node starts within the first half second, joins its channels within
// the first seconds, then members chat (a Poisson process over the whole
// cluster) and nodes join and leave channels (churn), faults or not. A
// crashed or frozen node's user does nothing (there is no process to type
// into); a partitioned one chats on.
//
// The workload stops at `quietAtMs` (the last heal), so that the settle time
// that follows judges a cluster at rest.
import type { SeededRandom } from '../lib/random.ts';
import type { SimCluster } from './cluster.ts';

export interface WorkloadOptions {
  channels: number;
  /** How many of them (the last ones) are private. */
  privateChannels: number;
  /** Members each channel starts with (distinct nodes drawn at random). */
  membersPerChannel: number;
  /** SAYs per virtual second, over the whole cluster. */
  chatPerSecond: number;
  /** Joins plus exits per virtual second, over the whole cluster. */
  churnPerSecond: number;
  /**
   * INVITEs per virtual second, over the whole cluster: a member invites one
   * to three other nodes to one of its channels, again and again, so that
   * hosts announce invites (one entry per channel, docs/protocol.md 3.2)
   * through every fault. Until 7 December 2026 the workload sent none, and
   * a second INVITE to a channel, which silenced its host, went unseen.
   */
  invitesPerSecond: number;
  /** Extra bytes of text per message (the text always starts with a unique id). */
  textPaddingBytes: number;
  /** Chat and churn stop here. */
  quietAtMs: number;
}

/** Nodes start within this window. */
const START_SPREAD_MS = 500;
/** Initial joins happen within [JOIN_FROM_MS, JOIN_TO_MS]. */
const JOIN_FROM_MS = 600;
const JOIN_TO_MS = 3000;
/** Chat and churn begin once the initial joins had time to settle. */
const ACTIVITY_FROM_MS = 4000;

/**
 * The run's channels: #c0, #c1, ..., the last `privateCount` of them private
 * (@c...). Private channels are joined by name like public ones: their hosts
 * announce them blinded (docs/protocol.md 5.6), which is what a run with
 * some exercises under faults.
 */
export function channelNames(count: number, privateCount = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${i >= count - privateCount ? '@' : '#'}c${i}`);
}

export class Workload {
  readonly channels: string[];
  private nextText = 1;
  readonly stats = { says: 0, saysRefused: 0, joins: 0, exits: 0, invites: 0 };

  constructor(
    private readonly cluster: SimCluster,
    private readonly random: SeededRandom,
    private readonly options: WorkloadOptions,
  ) {
    this.channels = channelNames(options.channels, options.privateChannels);
  }

  /** Start every node within the first half second. */
  startNodes(): void {
    const { cluster, random } = this;
    for (const id of cluster.ids) cluster.scheduler.at(Math.floor(random.next() * START_SPREAD_MS), () => cluster.start(id));
  }

  /** Schedule the initial joins and the chat and churn processes. */
  install(): void {
    const { cluster, random, options } = this;
    const scheduler = cluster.scheduler;
    for (const channel of this.channels) {
      for (const id of this.pick(cluster.ids, Math.min(options.membersPerChannel, cluster.size))) {
        const at = JOIN_FROM_MS + Math.floor(random.next() * (JOIN_TO_MS - JOIN_FROM_MS));
        scheduler.at(at, () => {
          if (cluster.join(id, channel)) this.stats.joins++;
        });
      }
    }
    if (options.chatPerSecond > 0) this.poisson(options.chatPerSecond, () => this.chat());
    if (options.churnPerSecond > 0) this.poisson(options.churnPerSecond, () => this.churn());
    if (options.invitesPerSecond > 0) this.poisson(options.invitesPerSecond, () => this.invite());
  }

  /** Run `act` at exponentially distributed intervals (mean 1/rate s) until quiet. */
  private poisson(perSecond: number, act: () => void): void {
    const scheduler = this.cluster.scheduler;
    const meanMs = 1000 / perSecond;
    const next = (from: number): void => {
      const at = from + Math.max(1, Math.round(-Math.log(1 - this.random.next()) * meanMs));
      if (at >= this.options.quietAtMs) return;
      scheduler.at(at, () => {
        act();
        next(at);
      });
    };
    next(ACTIVITY_FROM_MS);
  }

  private chat(): void {
    const speakers: Array<[string, string]> = [];
    for (const n of this.cluster.nodes()) {
      if (!n.active) continue;
      for (const channel of [...this.cluster.userChannelsOf(n.id)].sort()) speakers.push([n.id, channel]);
    }
    if (speakers.length === 0) return;
    const [id, channel] = speakers[Math.floor(this.random.next() * speakers.length)]!;
    const text = `${id}:${this.nextText++}${this.options.textPaddingBytes > 0 ? ' ' + 'x'.repeat(this.options.textPaddingBytes) : ''}`;
    if (this.cluster.say(id, channel, text)) this.stats.says++;
    else this.stats.saysRefused++;
  }

  /** Half the time someone leaves a channel, otherwise someone joins one. */
  private churn(): void {
    const cluster = this.cluster;
    const active = cluster.nodes().filter((n) => n.active);
    if (active.length === 0) return;
    const n = active[Math.floor(this.random.next() * active.length)]!;
    const mine = [...cluster.userChannelsOf(n.id)].sort();
    if (this.random.next() < 0.5 && mine.length > 0) {
      if (cluster.exit(n.id, mine[Math.floor(this.random.next() * mine.length)]!)) this.stats.exits++;
      return;
    }
    const others = this.channels.filter((c) => !mine.includes(c));
    if (others.length === 0) return;
    if (cluster.join(n.id, others[Math.floor(this.random.next() * others.length)]!)) this.stats.joins++;
  }

  /** A member of some channel invites one to three other nodes to it. */
  private invite(): void {
    const cluster = this.cluster;
    const inviters = cluster.nodes().filter((n) => n.active && cluster.userChannelsOf(n.id).size > 0);
    if (inviters.length === 0) return;
    const n = inviters[Math.floor(this.random.next() * inviters.length)]!;
    const mine = [...cluster.userChannelsOf(n.id)].sort();
    const channel = mine[Math.floor(this.random.next() * mine.length)]!;
    const invited = this.pick(cluster.ids.filter((id) => id !== n.id), 1 + Math.floor(this.random.next() * 3));
    if (invited.length > 0 && cluster.invite(n.id, channel, invited)) this.stats.invites++;
  }

  /** `count` distinct items, drawn with the workload's random stream. */
  private pick<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(this.random.next() * pool.length), 1)[0]!);
    return out;
  }
}
