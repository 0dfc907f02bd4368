// The checks the mutation review of 8 December 2026 added (sim/check-rules.ts,
// sim/check-failover.ts), on log records written by hand: each one flags the
// mutant's behaviour and passes the protocol's. With the outcome checks
// alone a split-brain rule that ignored epochs, a takeover at the old epoch,
// a failover to a peer known dead and a member that never left a frozen
// host all passed (docs/simulator.md, Invariants).
import t from 'tap';
import { FailoverChecker } from '../../sim/check-failover.ts';
import { RulesChecker } from '../../sim/check-rules.ts';
import type { LogRecord, LogSource } from '../../sim/event-log.ts';
import { Violations } from '../../sim/violations.ts';

const from = (id: string): LogSource => ({ id, incarnation: 1 });
const record = (vt: number, node: string, event: string, fields: Record<string, unknown> = {}): LogRecord => ({ vt, level: 30, node, event, ...fields });
const kinds = (v: Violations) => v.list.map((x) => x.kind);

t.test('split brain: the loser yields to the higher epoch, on a tie to the lower id', async (t) => {
  const v = new Violations();
  const rules = new RulesChecker(v);
  rules.onRecord(record(1, 'n2', 'splitbrain.resolved', { channel: '#c', winner: 'n3', winnerEpoch: 5, loser: 'n2', loserEpoch: 4 }), from('n2'));
  rules.onRecord(record(2, 'n3', 'splitbrain.resolved', { channel: '#c', winner: 'n1', winnerEpoch: 5, loser: 'n3', loserEpoch: 5 }), from('n3'));
  t.same(kinds(v), [], 'higher epoch; equal epochs, lower id');
  rules.onRecord(record(3, 'n4', 'splitbrain.resolved', { channel: '#c', winner: 'n7', winnerEpoch: 1, loser: 'n4', loserEpoch: 3 }), from('n4'));
  rules.onRecord(record(4, 'n1', 'splitbrain.resolved', { channel: '#c', winner: 'n2', winnerEpoch: 2, loser: 'n1', loserEpoch: 2 }), from('n1'));
  t.same(kinds(v), ['wrong-winner', 'wrong-winner']);
});

t.test('a takeover hosts at the epoch its failover knew + 1; a pick is no peer declared disconnected', async (t) => {
  const v = new Violations();
  const rules = new RulesChecker(v);
  rules.onRecord(record(1, 'sim', 'sim.join', { target: 'n2', channel: '#c' }), from('sim'));
  rules.onRecord(record(2, 'n2', 'failover.started', { channel: '#c', host: 'n1', epoch: 3, candidates: ['n2'] }), from('n2'));
  rules.onRecord(record(3, 'n2', 'takeover', { channel: '#c', epoch: 4, previousHost: 'n1' }), from('n2'));
  t.same(kinds(v), []);
  rules.onRecord(record(4, 'n2', 'failover.started', { channel: '#c', host: 'n2', epoch: 4, candidates: ['n2'] }), from('n2'));
  rules.onRecord(record(5, 'n2', 'takeover', { channel: '#c', epoch: 4, previousHost: 'n2' }), from('n2'));
  t.same(kinds(v), ['takeover-epoch'], 'at the old epoch');
  rules.onRecord(record(6, 'n2', 'peer.state', { peer: 'n5', state: 'disconnected' }), from('n2'));
  rules.onRecord(record(7, 'n2', 'failover.started', { channel: '#c', host: 'n3', epoch: 5, candidates: ['n5', 'n6'] }), from('n2'));
  t.same(kinds(v), ['takeover-epoch', 'down-candidate'], 'a peer it declared disconnected');
  rules.onRecord(record(8, 'n2', 'peer.discovered', { peer: 'n5' }), from('n2'));
  rules.onRecord(record(9, 'n2', 'failover.started', { channel: '#c', host: 'n3', epoch: 5, candidates: ['n5'] }), from('n2'));
  t.equal(v.list.length, 2, 'discovered again: a candidate again');
});

t.test('takeovers beyond two a fault step and channel, and four a channel, are a storm', async (t) => {
  const v = new Violations();
  const rules = new RulesChecker(v);
  for (let i = 0; i < 20; i++) rules.onRecord(record(i, 'n1', 'takeover', { channel: '#c', epoch: i + 1 }), from('n1'));
  rules.finish(100, 3, 2);
  t.same(kinds(v), [], '20 of a budget of 2 x 2 x 3 + 4 x 2');
  rules.onRecord(record(20, 'n1', 'takeover', { channel: '#c', epoch: 21 }), from('n1'));
  rules.finish(100, 3, 2);
  t.same(kinds(v), ['takeover-storm']);
});

t.test('a member of a host that crashed or froze suspects it within the detection time', async (t) => {
  const X = 250;
  const v = new Violations();
  const failover = new FailoverChecker(v, X, 5);
  const bound = 4 * X + 5 * (X / 16) + 5;
  failover.onRecord(record(0, 'n2', 'member.joined', { channel: '#c', host: 'n1' }), from('n2'));
  failover.onRecord(record(0, 'n3', 'member.joined', { channel: '#c', host: 'n1' }), from('n3'));
  failover.onRecord(record(100, 'sim', 'sim.freeze', { target: 'n1' }), from('sim'));
  failover.onRecord(record(100 + bound - 1, 'n2', 'host.suspected', { channel: '#c', host: 'n1', via: 'liveness' }), from('n2'));
  failover.finish(100 + bound + 1);
  t.same(v.list.map((x) => [x.kind, x.nodes.join(',')]), [['host-not-suspected', 'n3,n1']], 'n2 in time; n3 never');
  const thawed = new Violations();
  const again = new FailoverChecker(thawed, X, 5);
  again.onRecord(record(0, 'n2', 'member.joined', { channel: '#c', host: 'n1' }), from('n2'));
  again.onRecord(record(100, 'sim', 'sim.freeze', { target: 'n1' }), from('sim'));
  again.onRecord(record(400, 'sim', 'sim.thaw', { target: 'n1' }), from('sim'));
  again.finish(5000);
  t.same(thawed.list, [], 'a host back before the detection time owes nobody a suspicion');
});
