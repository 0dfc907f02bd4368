// Protocol bugs the simulator found that are not fixed yet (they are in
// machines/, whose owners decide the fix). Each is a minimal reproduction,
// marked todo so that CI stays green; when one is fixed, its todo flag goes
// and it becomes a regression test. docs/simulator.md lists them.
import t from 'tap';
import { eventsOf, simulate, violationLines } from './helpers.ts';

// F2 + F5. A member that restarts during a one-way cut cannot reach the
// host, fails over to itself and hosts the channel at epoch + 1 with an
// empty history (F2: a member that never got a WELCOME in this membership
// holds nothing and has no evidence the host died, yet it takes over, and
// its higher epoch wins the split brain). After the heal the loser's
// members relay their ~100 messages; the winner appends them to its
// bounded history, which evicts the winner's own newer messages (F5), so
// members that join after the first relay never get them.
const F2 = { todo: 'F2, machines/channel-member.ts: a member that never got a WELCOME takes over on a failed connect' };
const F5 = { todo: 'F5, machines/channel-host.ts: relayed (older) messages evict newer ones from the bounded history' };
const F4 = { todo: 'F4, machines/channel-member.ts: relays carry no order; partial histories interleave' };

t.test('F2+F5: an isolated newcomer wins the split brain and the relay flood evicts its own messages', async (t) => {
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      at('1s', (c) => c.join('n1', '#c0'));
      at('2s', (c) => {
        for (const id of ['n2', 'n3', 'n4']) c.join(id, '#c0');
      });
      for (let i = 0; i < 110; i++) at(3000 + i * 40, (c) => c.say(`n${1 + (i % 3)}`, '#c0', `before ${i}`));
      at('8s', (c) => c.crash('n4'));
      at('9s', (c) => c.partitionOneWay(['n4'], ['n1', 'n2', 'n3']));
      at('9500ms', (c) => c.restart('n4'));
      at('12s', (c) => c.say('n4', '#c0', 'said by the newcomer'));
      at('14s', (c) => c.heal());
    },
  });
  t.same(
    eventsOf(result, 'takeover').map((e) => e.node),
    [],
    'nobody takes over: the host never died (today n4 does, with history 0)',
    F2,
  );
  t.same(violationLines(result), [], "and every member gets n4's message", F5);
});

// F4. Per-author order across a split-brain merge: members relay what the
// new host lacks from their own bounded histories; a member whose history
// lost an author's older message (evicted by an earlier WELCOME merge)
// relays only the newer one, and another member's relay of the older one
// arrives after it: the new host orders them the other way round.
t.test("F4: relays from several members can reorder one author's messages (seed 11, 6 nodes, 40 s)", async (t) => {
  const result = await simulate({ seed: 11, nodes: 6, channels: 2, durationMs: 40_000, faults: 'random', keepLog: false });
  t.same(violationLines(result), [], 'no violations', F4);
});
