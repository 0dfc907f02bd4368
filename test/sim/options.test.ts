// Simulator options that shape the nodes, and their replay command.
import t from 'tap';
import { replayCommand } from '../../lib/cli/sim-command.ts';
import { DEFAULTS } from '../../sim/run.ts';
import { eventsOf, simulate } from './helpers.ts';

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
