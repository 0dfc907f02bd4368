// Simulator options that shape the nodes, and their replay command.
import t from 'tap';
import { replayCommand } from '../../lib/cli/sim-command.ts';
import { DEFAULTS, type SimOptions, type SimResult } from '../../sim/run.ts';
import { summaryText } from '../../sim/summary.ts';
import { eventsOf, simulate, violationLines } from './helpers.ts';

t.test('--history sets the nodes\' history; the replay command repeats it only when given', async (t) => {
  const result = await simulate({
    nodes: 3,
    historyLimit: 5,
    script: ({ at }) => {
      at('1s', (c) => c.join('n1', '#c0'));
      at('2s', (c) => c.join('n2', '#c0'));
      for (let i = 0; i < 20; i++) at(3000 + i * 50, (c) => c.say('n2', '#c0', `m${i}`));
      at('6s', (c) => c.join('n3', '#c0'));
    },
  });
  t.same(eventsOf(result, 'member.joined', (r) => r.node === 'n3').map((r) => r.history), [5], 'the late joiner gets the last 5');
  const base = { ...DEFAULTS, seed: 1, membersPerChannel: 4, keepLog: false };
  t.match(replayCommand({ ...base, historyLimit: 5 }), / --history 5$/);
  t.notMatch(replayCommand(base), /--history/);
});

t.test('--split-chunks cuts the stream writes; the members get the same messages; the replay command repeats it only when given', async (t) => {
  // A late joiner's WELCOME and its history come in one write: cut at random
  // points, they reach its member machine in other chunks than they were sent.
  const script: SimOptions['script'] = ({ at }) => {
    at('1s', (c) => c.join('n1', '#c0'));
    at('2s', (c) => c.join('n2', '#c0'));
    for (let i = 0; i < 20; i++) at(3000 + i * 50, (c) => c.say('n2', '#c0', `m${i}`));
    at('6s', (c) => c.join('n3', '#c0'));
    for (let i = 0; i < 20; i++) at(7000 + i * 50, (c) => c.say('n3', '#c0', `late${i}`));
  };
  const whole = await simulate({ nodes: 3, script });
  const cut = await simulate({ nodes: 3, script, splitChunks: true });
  t.equal(whole.network.streamWritesCut, 0, 'without the option no write is cut');
  t.ok(cut.network.streamWritesCut > 10, `with it writes are cut (${cut.network.streamWritesCut})`);
  t.match(summaryText(cut), /stream bytes, [\d,]+ writes cut \(--split-chunks\)/, 'the summary says so');
  t.notMatch(summaryText(whole), /writes cut/);
  t.same(eventsOf(cut, 'member.joined', (r) => r.node === 'n3').map((r) => r.history), [20], 'the late joiner gets the whole history');
  t.same(violationLines(cut), [], 'no invariant violated');
  t.same(cut.delivery, whole.delivery, 'the same deliveries as with whole writes');
  // n2's 20 to n1 live and to n3 in its history, n3's 20 to n1 and n2.
  t.equal(cut.delivery.delivered, 20 * 2 + 20 * 2, 'every message reached every other member once');
  const base = { ...DEFAULTS, seed: 1, membersPerChannel: 4, keepLog: false };
  t.match(replayCommand({ ...base, splitChunks: true }), / --split-chunks$/);
  t.notMatch(replayCommand(base), /--split-chunks/);
});

t.test('--standbys sets the nodes\' k: at 0 a host crash goes to the lowest-id member (docs/protocol.md 5.4); the replay command repeats it only when given', async (t) => {
  // n5 hosts #c0; n2 hosts #c1 and n1 is a member there, so the standby
  // ranking (5.2: fewest hosted, then fewest other memberships, then id)
  // puts n3 and n4 first, and the lowest-id member is neither.
  const script: SimOptions['script'] = ({ at }) => {
    at('1s', (c) => {
      c.join('n5', '#c0');
      c.join('n2', '#c1');
    });
    at('2s', (c) => c.join('n1', '#c1'));
    at('3s', (c) => {
      for (const id of ['n1', 'n2', 'n3', 'n4']) c.join(id, '#c0');
    });
    for (let i = 0; i < 20; i++) at(4000 + i * 100, (c) => c.say(`n${1 + (i % 4)}`, '#c0', `m${i}`));
    at('7s', (c) => c.crash('n5'));
    for (let i = 0; i < 20; i++) at(10_000 + i * 100, (c) => c.say(`n${1 + (i % 4)}`, '#c0', `after ${i}`));
  };
  const takeovers = (result: SimResult) => eventsOf(result, 'takeover', (r) => r.channel === '#c0').map((r) => `${String(r.node)}@${String(r.epoch)}`);
  const chosen = (result: SimResult) => eventsOf(result, 'standby.chosen', (r) => r.node === 'n5' && r.channel === '#c0').map((r) => (r.standbys as string[]).join(','));

  const ranked = await simulate({ nodes: 5, channels: 2, script });
  t.equal(chosen(ranked).at(-1), 'n3,n4', 'at the default k = 2 the host ranks n3 and n4');
  t.same(takeovers(ranked), ['n3@2'], 'and the first standby takes over');
  t.same(violationLines(ranked), [], 'no invariant violated');

  const none = await simulate({ nodes: 5, channels: 2, script, standbys: 0 });
  t.same(chosen(none), [], 'at k = 0 the host names no standby');
  t.same(takeovers(none), ['n1@2'], 'the lowest-id member takes over');
  t.same(violationLines(none), [], 'no invariant violated: every message said before and after the crash reached every member');
  // Before the crash each message reaches the 4 other members, n5 among them; after it, 3.
  for (const result of [ranked, none]) t.equal(result.delivery.delivered, 20 * 4 + 20 * 3, 'every message reached every other member once');
  t.equal(none.delivery.lost, 0, 'none lost');

  const base = { ...DEFAULTS, seed: 1, membersPerChannel: 4, keepLog: false };
  t.match(replayCommand({ ...base, standbys: 0 }), / --standbys 0$/);
  t.notMatch(replayCommand(base), /--standbys/);
});
