// Private (`@`) channels are never named in a PeerPDU; their hosts announce a
// blinded tag instead (docs/protocol.md 3.2 `hidden`, 5.6), so that a split
// brain of a private channel is found and resolved like that of a public one.
import t from 'tap';
import { eventsOf, simulate, violationLines } from './helpers.ts';

t.test('a private channel split by a partition has one host again after the heal, and every message reaches every member', async (t) => {
  const result = await simulate({
    nodes: 5,
    durationMs: 40_000,
    script: ({ at }) => {
      at('1s', (c) => c.join('n1', '@p'));
      at('2s', (c) => c.node('n1')!.node.invite('@p', ['n2', 'n3', 'n4']));
      at('3s', (c) => ['n2', 'n3', 'n4'].forEach((id) => c.join(id, '@p')));
      for (let i = 0; i < 40; i++) at(5000 + i * 500, (c) => c.say(['n1', 'n2', 'n3', 'n4'][i % 4]!, '@p', `m${i}`));
      at('8s', (c) => c.partition([['n1', 'n2'], ['n3', 'n4', 'n5']]));
      at('16s', (c) => c.heal());
    },
  });
  const takeovers = eventsOf(result, 'takeover', (r) => r.channel === '@p');
  t.ok(takeovers.length >= 1 && takeovers.every((r) => r.vt > 8000 && r.vt < 16000), 'the side without the host took over during the partition');
  const resolved = eventsOf(result, 'splitbrain.resolved', (r) => r.channel === '@p');
  t.equal(resolved.length, 1, 'the heal brought the two hosts together: one yielded');
  t.same(violationLines(result), [], 'one host, every member joined to it, every message delivered');
  t.equal(result.delivery.delivered, 40 * 3, 'each of the 40 messages reached the 3 other members, those of the cut-off side included');
  t.equal(result.delivery.duplicated, 0);
});

t.test('a node that knows a private channel\'s name finds its host by the tag', async (t) => {
  const result = await simulate({
    nodes: 3,
    durationMs: 20_000,
    script: ({ at }) => {
      at('1s', (c) => c.join('n1', '@p'));
      at('3s', (c) => c.join('n2', '@p')); // no invite
      at('5s', (c) => c.say('n2', '@p', 'found you'));
    },
  });
  t.same(violationLines(result), []);
  t.same(eventsOf(result, 'member.joined', (r) => r.channel === '@p').map((r) => [r.node, r.host]), [['n1', 'n1'], ['n2', 'n1']], 'both in the one channel n1 hosts');
  t.equal(eventsOf(result, 'channel.created', (r) => r.channel === '@p').length, 1, 'created once');
});
