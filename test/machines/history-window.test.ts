// One history window per channel: a member's copy of the history is its
// host's, message for message and in the host's order, whatever mix of
// SAYs and merged RELAYs the host accepted, and whenever the member joined
// (machines/history.ts appendToHistory, mirrorLive, inHostOrder). The host
// and member machines run side by side here, every frame the host sends to
// a member handed to it. Windows that differed lost messages (F12) or
// reordered them (seed 153): docs/simulator-findings.md.
import fc from 'fast-check';
import t from 'tap';
import { createActor, type Actor } from 'xstate';
import { channelHostMachine, type ChannelHostEmitted } from '../../machines/channel-host.ts';
import { channelMemberMachine } from '../../machines/channel-member.ts';
import { historyWindowMax, msgIdOf, msgIdPrefix } from '../../machines/history.ts';
import type { PeerLoad } from '../../machines/rules.ts';
import { memberInput } from '../helpers/machine-inputs.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const load = (): PeerLoad => ({ canHost: true, alive: true, hosted: 0, joined: new Set() });
const loads = new Map<string, PeerLoad>(['h', 'a', 'b', 'm', 'late'].map((id) => [id, load()]));

/**
 * SAYs by member a; a batch of relays by member b (what a merge brings in:
 * a's older messages, which the WELCOME then shows in a's order, away from
 * the host's); a member that joins now.
 */
type Step = { say: number } | { relays: number } | { join: true };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ say: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ relays: fc.integer({ min: 1, max: 12 }) }),
  fc.constant({ join: true as const }),
);

/** Author a's msgIds tell its order: relays carry older ones than its SAYs. */
const said = (counter: number) => msgIdOf(msgIdPrefix(7, 1), counter);

function run(historyLimit: number, steps: readonly Step[]) {
  const clock = new ManualClock();
  const host = createActor(channelHostMachine, {
    clock,
    input: { channel: '#x', hostId: 'h', epoch: 1, standbyCount: 2, historyLimit, history: [], loads, relayWindowMs: 100, openingTimeoutMs: 2500 },
  });
  const members = new Map<string, Actor<typeof channelMemberMachine>>();
  host.on('send', (e: Extract<ChannelHostEmitted, { type: 'send' }>) => {
    for (const [id, member] of members) {
      if (!e.to.includes(`c-${id}`)) continue;
      // One write of the host, one chunk of the member's stream.
      member.send({ type: 'FRAMES', gen: member.getSnapshot().context.gen, commands: e.commands });
    }
  });
  const join = (id: string) => {
    const member = createActor(channelMemberMachine, { clock, input: { ...memberInput(id), historyLimit } });
    members.set(id, member);
    member.start();
    member.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
    member.send({ type: 'CONNECTED', gen: member.getSnapshot().context.gen });
    host.send({ type: 'JOIN', connId: `c-${id}`, peerId: id, loads });
  };
  host.start();
  for (const id of ['m', 'a', 'b']) join(id);
  let says = 0;
  let relays = 0;
  let late = 0;
  for (const step of steps) {
    if ('say' in step) {
      for (let i = 0; i < step.say; i++) host.send({ type: 'SAY', connId: 'c-a', text: `said ${++says}`, msgId: said(1000 + says) });
    } else if ('relays' in step) {
      for (let i = 0; i < step.relays; i++) {
        relays++;
        host.send({ type: 'RELAY', connId: 'c-b', authorId: 'a', text: `relayed ${relays}`, msgId: said(relays), seq: relays });
      }
      clock.advance(100); // the relay window closes: the merge is accepted
    } else {
      join(`late${++late}`);
    }
  }
  const ids = (history: readonly { msgId: string; relayed?: boolean }[]) => history.map((h) => (h.relayed ? `${h.msgId} (relayed)` : h.msgId));
  return {
    host: ids(host.getSnapshot().context.history),
    members: [...members].filter(([id]) => id !== 'a' && id !== 'b').map(([id, m]) => ({ id, history: ids(m.getSnapshot().context.history) })),
  };
}

t.test("a member holds exactly its host's history, said and relayed messages counted apart", async (t) => {
  const { host, members } = run(5, [{ say: 4 }, { relays: 12 }, { say: 2 }]);
  const saidIds = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => said(1000 + from + i));
  const relayedIds = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${said(from + i)} (relayed)`);
  t.same(host, [...saidIds(2, 4), ...relayedIds(3, 12), ...saidIds(5, 6)], 'the last 5 said and the last 10 relayed (relayShare)');
  t.same(members[0]!.history, host);
});

t.test("a member that joins after a merge keeps the WELCOME in its host's order, though it was shown each author's order", async (t) => {
  const { host, members } = run(5, [{ say: 3 }, { relays: 3 }, { join: true }, { say: 4 }]);
  t.same(members.map((m) => m.id), ['m', 'late1']);
  t.same(members[1]!.history, host, 'the late joiner drops what its host drops');
  t.same(members[0]!.history, host);
});

t.test('property: whatever the host accepted, every member holds what the host holds', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(stepArb, { maxLength: 14 }), (limit, steps) => {
      const { host, members } = run(limit, steps);
      return host.length <= historyWindowMax(limit) && members.every((m) => m.history.join() === host.join());
    }),
  );
  t.pass();
});
