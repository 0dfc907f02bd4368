// A node's metrics (lib/node/metrics.ts), read from a stand-in node: every
// statistic is a counter with the node's figure, the gauges count what the
// node holds by state, zeros included, and nothing names a channel.
import { EventEmitter } from 'node:events';
import t from 'tap';
import { counterName, FAILOVER_BUCKETS, nodeMetrics, type MetricsSource } from '../../lib/node/metrics.ts';
import { STATISTICS, type NodeStatistics } from '../../lib/node/statistics.ts';
import type { PeerSummary } from '../../lib/node/node.ts';
import { parseExposition } from '../helpers/exposition.ts';

function source(overrides: Partial<NodeStatistics> = {}) {
  const statistics = Object.fromEntries(Object.keys(STATISTICS).map((k, i) => [k, (i + 1) * 10])) as NodeStatistics;
  const peer = (peerId: string, state: string): PeerSummary => ({ peerId, nick: peerId, address: '10.0.0.1', port: 50000, state, incarnation: 1 });
  const node = {
    id: 'n1',
    figures: { ...statistics, ...overrides },
    peers: [peer('a', 'timerAlive'), peer('b', 'timerAlive'), peer('c', 'maybeDisconnected')],
    hosted: [
      { name: '@secret-plans', epoch: 3, members: ['n1', 'a', 'b'], standbys: ['a'], history: [] },
      { name: '#lobby', epoch: 1, members: ['n1'], standbys: [], history: [] },
    ],
    joined: { '#lobby': 'joined', '#elsewhere': 'failingOver', '#third': 'joined' } as Record<string, string>,
  };
  const events = new EventEmitter<{ failover: [{ channel: string; durationMs: number }] }>();
  const api: MetricsSource = {
    on: (event, listener) => events.on(event, listener),
    id: node.id,
    statistics: () => node.figures,
    peers: () => node.peers,
    hostedChannels: () => node.hosted,
    joinedChannels: () => Object.keys(node.joined),
    membership: (channel: string) => ({ state: node.joined[channel]!, hostId: 'x', epoch: 1, outbox: node.joined[channel] === 'failingOver' ? 3 : 0, standbys: [], members: [] }),
  };
  return { node, api, events };
}

t.test('counter names follow the statistics: chanmesh_<snake case>_total', async (t) => {
  t.equal(counterName('roundsSent'), 'chanmesh_rounds_sent_total');
  t.equal(counterName('warnLinesThrottled'), 'chanmesh_warn_lines_throttled_total');
});

t.test('every statistic is a counter with its help and the figure the node has now', async (t) => {
  const { node, api } = source();
  const registry = nodeMetrics(api, { processMetrics: false });
  const text = await registry.metrics();
  const values = parseExposition(text);
  for (const [statistic, help] of Object.entries(STATISTICS) as [keyof NodeStatistics, string][]) {
    const name = counterName(statistic);
    t.ok(text.includes(`# HELP ${name} ${help}\n# TYPE ${name} counter\n`), `${name}: help and type`);
    t.equal(values.get(name), node.figures[statistic], `${name} = ${node.figures[statistic]}`);
  }
  node.figures = { ...node.figures, badFrames: 1234 };
  t.equal(parseExposition(await registry.metrics()).get('chanmesh_bad_frames_total'), 1234, 'read again at the next scrape, not kept');
});

t.test('gauges: peers by liveness state and memberships by state, every state present; hosted channels and their members', async (t) => {
  const { node, api } = source();
  const registry = nodeMetrics(api, { processMetrics: false });
  let values = parseExposition(await registry.metrics());
  t.equal(values.get('chanmesh_peers{state="timerAlive"}'), 2);
  t.equal(values.get('chanmesh_peers{state="maybeDisconnected"}'), 1);
  t.equal(values.get('chanmesh_peers{state="timerRefresh"}'), 0, 'a state nobody is in: 0, not missing');
  t.equal(values.get('chanmesh_peers{state="disconnected"}'), 0);
  t.equal(values.get('chanmesh_channels_hosted'), 2);
  t.equal(values.get('chanmesh_hosted_members'), 4);
  t.equal(values.get('chanmesh_memberships{state="joined"}'), 2);
  t.equal(values.get('chanmesh_memberships{state="failingOver"}'), 1);
  t.equal(values.get('chanmesh_memberships{state="orphaned"}'), 0);
  t.equal(values.get('chanmesh_outbox_messages'), 3, 'the outbox of the channel failing over');
  t.equal(values.get('chanmesh_node_info{peer_id="n1"}'), 1);

  node.peers = [];
  node.hosted = [];
  node.joined = {};
  values = parseExposition(await registry.metrics());
  t.equal(values.get('chanmesh_peers{state="timerAlive"}'), 0, 'a peer that left is counted out');
  t.equal(values.get('chanmesh_memberships{state="joined"}'), 0);
  t.equal(values.get('chanmesh_channels_hosted'), 0);
  t.equal(values.get('chanmesh_outbox_messages'), 0);
});

t.test('failover durations: a histogram in seconds, observed as the node reports each', async (t) => {
  const { api, events } = source();
  const registry = nodeMetrics(api, { processMetrics: false });
  let values = parseExposition(await registry.metrics());
  t.equal(values.get('chanmesh_failover_duration_seconds_count'), 0, 'none yet, and the series is there');
  events.emit('failover', { channel: '#lobby', durationMs: 800 });
  events.emit('failover', { channel: '@secret-plans', durationMs: 2500 });
  values = parseExposition(await registry.metrics());
  t.equal(values.get('chanmesh_failover_duration_seconds_count'), 2);
  t.equal(values.get('chanmesh_failover_duration_seconds_sum'), 3.3);
  t.equal(values.get('chanmesh_failover_duration_seconds_bucket{le="0.5"}'), 0);
  t.equal(values.get('chanmesh_failover_duration_seconds_bucket{le="1"}'), 1, '0.8 s within 1 s');
  t.equal(values.get('chanmesh_failover_duration_seconds_bucket{le="3"}'), 2, '2.5 s within 3 s');
  t.equal(values.get('chanmesh_failover_duration_seconds_bucket{le="+Inf"}'), 2);
  t.equal([...values.keys()].filter((k) => k.startsWith('chanmesh_failover_duration_seconds_bucket')).length, FAILOVER_BUCKETS.length + 1);
});

t.test('no channel name appears, a private one least of all', async (t) => {
  const { api, events } = source();
  const registry = nodeMetrics(api, { processMetrics: false });
  events.emit('failover', { channel: '@secret-plans', durationMs: 900 });
  const text = await registry.metrics();
  t.notMatch(text, /secret-plans|#lobby|#elsewhere/);
});

t.test("process metrics only when asked for: they are a process's, not one node's among many", async (t) => {
  const without = await nodeMetrics(source().api, { processMetrics: false }).metrics();
  t.notMatch(without, /^process_|^nodejs_/m);
  const withThem = await nodeMetrics(source().api, { processMetrics: true }).metrics();
  t.match(withThem, /^process_cpu_user_seconds_total /m);
  t.match(withThem, /^nodejs_eventloop_lag_seconds /m);
  t.match(withThem, /^chanmesh_rounds_sent_total 10$/m, 'beside the node\'s own');
});
