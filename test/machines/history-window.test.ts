// One history window per channel: a member's copy of the history is its
// host's, message for message, whatever mix of SAYs and merged RELAYs the
// host accepted (machines/history.ts appendToHistory, mirrorLive). The host and member machines run side by side here, every
// frame the host sends to the member handed to it. Windows that differed
// lost messages (F12) or reordered them (seed 153): docs/simulator.md.
import fc from 'fast-check';
import t from 'tap';
import { createActor } from 'xstate';
import { channelHostMachine, type ChannelHostEmitted } from '../../machines/channel-host.ts';
import { channelMemberMachine } from '../../machines/channel-member.ts';
import type { PeerLoad } from '../../machines/rules.ts';
import { memberInput } from '../helpers/machine-inputs.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const load = (): PeerLoad => ({ canHost: true, alive: true, hosted: 0, joined: new Set() });
const loads = new Map<string, PeerLoad>(['h', 'a', 'b', 'm'].map((id) => [id, load()]));

/** A SAY by member a, or a batch of relays by member b (what a merge brings in). */
type Step = { say: number } | { relays: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(fc.record({ say: fc.integer({ min: 1, max: 4 }) }), fc.record({ relays: fc.integer({ min: 1, max: 12 }) }));

function run(historyLimit: number, steps: readonly Step[]) {
  const clock = new ManualClock();
  const hostActor = createActor(channelHostMachine, {
    clock,
    input: { channel: '#x', hostId: 'h', epoch: 1, standbyCount: 2, historyLimit, history: [], loads, relayWindowMs: 100 },
  });
  const member = createActor(channelMemberMachine, { clock, input: { ...memberInput('m'), historyLimit } });
  hostActor.on('send', (e: Extract<ChannelHostEmitted, { type: 'send' }>) => {
    if (!e.to.includes('c-m')) return;
    for (const command of e.commands) member.send({ type: 'FRAME', gen: member.getSnapshot().context.gen, command });
  });
  hostActor.start();
  member.start();
  member.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  member.send({ type: 'CONNECTED', gen: member.getSnapshot().context.gen });
  for (const peerId of ['m', 'a', 'b']) hostActor.send({ type: 'JOIN', connId: `c-${peerId}`, peerId, loads });
  let said = 0;
  let relayed = 0;
  for (const step of steps) {
    if ('say' in step) {
      for (let i = 0; i < step.say; i++) hostActor.send({ type: 'SAY', connId: 'c-a', text: `a${++said}`, msgId: `a${said}` });
    } else {
      for (let i = 0; i < step.relays; i++) {
        relayed++;
        hostActor.send({ type: 'RELAY', connId: 'c-b', authorId: 'z', text: `z${relayed}`, msgId: `z${relayed}`, seq: relayed });
      }
      clock.advance(100); // the relay window closes: the merge is accepted
    }
  }
  const ids = (history: readonly { msgId: string; relayed?: boolean }[]) => history.map((h) => (h.relayed ? `${h.msgId} (relayed)` : h.msgId));
  return { host: ids(hostActor.getSnapshot().context.history), member: ids(member.getSnapshot().context.history) };
}

t.test("a member holds exactly its host's history, said and relayed messages counted apart", async (t) => {
  const { host, member } = run(5, [{ say: 4 }, { relays: 8 }, { say: 2 }]);
  t.same(host, ['a2', 'a3', 'a4', 'z4 (relayed)', 'z5 (relayed)', 'z6 (relayed)', 'z7 (relayed)', 'z8 (relayed)', 'a5', 'a6'], 'the last 5 said and the last 5 relayed');
  t.same(member, host);
});

t.test('property: whatever the host accepted, the member holds what the host holds', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(stepArb, { maxLength: 12 }), (limit, steps) => {
      const { host, member } = run(limit, steps);
      return host.length <= 2 * limit && member.join() === host.join();
    }),
  );
  t.pass();
});
