// A node's figures in Prometheus's terms (`chanmesh node --metrics`): the
// /stats counters as counters, and what the peer table and the channels
// hold now as gauges. Everything is read from the node at each scrape, not
// kept a second time, so /stats and /metrics cannot disagree.
//
// No channel name and no member id is a label: a private channel is known
// outside only by its blinded tag (docs/protocol.md 6), and a label per
// channel or peer would grow with what strangers create.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { peerLivenessMachine } from '../../machines/peer-liveness.ts';
import { channelMemberMachine } from '../../machines/channel-member.ts';
import type { ChanmeshNode } from './node.ts';
import { STATISTICS, type NodeStatistics } from './statistics.ts';

export type MetricsSource = Pick<ChanmeshNode, 'id' | 'statistics' | 'peers' | 'hostedChannels' | 'joinedChannels' | 'membership'> & {
  on(event: 'failover', listener: (failover: { channel: string; durationMs: number }) => void): unknown;
};

/**
 * Seconds. A failover takes the liveness timeout or a broken connection to
 * begin, then a connect and a WELCOME: about 1 s at the default 250 ms PDU
 * interval (bench:failover), about 4 s at 1 s.
 */
export const FAILOVER_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30];

/** The liveness states of figure 6 and the member machine's, from the machines themselves: each gets a series, zeros included. */
const PEER_STATES = Object.keys(peerLivenessMachine.root.states);
const MEMBERSHIP_STATES = Object.keys(channelMemberMachine.root.states);

/** `roundsSent` -> `chanmesh_rounds_sent_total`. */
export function counterName(statistic: keyof NodeStatistics): string {
  return `chanmesh_${statistic.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
}

/**
 * A registry of one node's metrics. `processMetrics` adds prom-client's
 * defaults (CPU, memory, event loop delay, ...), which belong to a process:
 * the real node's, not one node among many in the simulator or a test.
 */
export function nodeMetrics(node: MetricsSource, options: { processMetrics: boolean }): Registry {
  const registry = new Registry();
  for (const statistic of Object.keys(STATISTICS) as (keyof NodeStatistics)[]) {
    new Counter({
      name: counterName(statistic),
      help: STATISTICS[statistic],
      registers: [registry],
      collect() {
        // A counter that is read, not counted here: set to the node's figure.
        this.reset();
        this.inc(node.statistics()[statistic]);
      },
    });
  }
  new Gauge({
    name: 'chanmesh_peers',
    help: 'Peers in the peer table, by liveness state (draft figure 6)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, n] of countByState(PEER_STATES, node.peers().map((peer) => peer.state))) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'chanmesh_channels_hosted',
    help: 'Channels this node hosts',
    registers: [registry],
    collect() {
      this.set(node.hostedChannels().length);
    },
  });
  new Gauge({
    name: 'chanmesh_hosted_members',
    help: 'Members of the channels this node hosts, all channels together',
    registers: [registry],
    collect() {
      this.set(node.hostedChannels().reduce((sum, channel) => sum + channel.members.length, 0));
    },
  });
  new Gauge({
    name: 'chanmesh_memberships',
    help: "This node's own user's channels, by the member machine's state",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const states = node.joinedChannels().flatMap((channel) => node.membership(channel)?.state ?? []);
      for (const [state, n] of countByState(MEMBERSHIP_STATES, states)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'chanmesh_outbox_messages',
    help: "Messages this node's user said that no host has acknowledged yet, all channels together: what a failover sends again",
    registers: [registry],
    collect() {
      this.set(node.joinedChannels().reduce((sum, channel) => sum + (node.membership(channel)?.outbox ?? 0), 0));
    },
  });
  const failovers = new Histogram({
    name: 'chanmesh_failover_duration_seconds',
    help: "Failovers of this node's user's channels, from the host looking dead to joined at the next host (failover.finished durationMs)",
    buckets: FAILOVER_BUCKETS,
    registers: [registry],
  });
  node.on('failover', ({ durationMs }) => failovers.observe(durationMs / 1000));
  new Gauge({
    name: 'chanmesh_node_info',
    help: 'Always 1; the label says which peer this is',
    labelNames: ['peer_id'],
    registers: [registry],
    collect() {
      this.set({ peer_id: node.id }, 1);
    },
  });
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** How many are in each state: every one of `states` counted, zeros too, so that each has a series. */
function countByState(states: readonly string[], of: readonly string[]): Map<string, number> {
  const count = new Map(states.map((state) => [state, 0]));
  for (const state of of) count.set(state, (count.get(state) ?? 0) + 1);
  return count;
}
