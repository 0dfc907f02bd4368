// Every machine's context stays at MAX_CONTEXT_FIELDS top-level fields or
// fewer, in every state it reaches here.
//
// XState copies the whole context at every assign (Object.assign onto a
// fresh {}), and V8 turns an object built that way into a dictionary once it
// has more than about 17 fields: from then on each assign costs ~5 us instead
// of ~0.2 us, and every read of the context is a hash lookup. The member
// machine had 23 fields, which made each of its transitions 3x dearer
// (docs/architecture.md, "Machine contexts stay small").
import t from 'tap';
import { createActor, fromCallback } from 'xstate';
import { channelHostMachine } from '../../machines/channel-host.ts';
import { channelMemberMachine } from '../../machines/channel-member.ts';
import { discoveryMachine } from '../../machines/discovery.ts';
import { peerLivenessMachine } from '../../machines/peer-liveness.ts';
import type { ServerCommand } from '../../lib/wire/command.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { timerSilence } from '../helpers/services.ts';
import { memberInput } from '../helpers/machine-inputs.ts';

/** Measured on Node 20 (V8 11.3): 17 fields copy fast, 18 and more do not. */
const MAX_CONTEXT_FIELDS = 16;

const fields = (actor: { getSnapshot(): { context: object } }) => Object.keys(actor.getSnapshot().context).length;

t.test('channel host, with an inherited de-duplication window and every optional field set', async (t) => {
  const clock = new ManualClock();
  const actor = createActor(channelHostMachine, {
    clock,
    input: {
      channel: '#x',
      hostId: 'h',
      epoch: 2,
      standbyCount: 2,
      historyLimit: 3,
      history: [{ seq: 1, authorId: 'a', text: 'x', msgId: 'm1' }],
      seenAsMember: { keys: ['a\u0000m1'], runs: [] },
      loads: new Map(),
      relayWindowMs: 100,
      openingTimeoutMs: 2500,
    },
  });
  actor.start();
  actor.send({ type: 'JOIN', connId: 'c-a', peerId: 'a', loads: new Map() });
  actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'b', text: 'y', msgId: 'm2', seq: 2 });
  actor.send({ type: 'SAY', connId: 'c-a', text: 'z', msgId: 'm3' });
  t.ok(fields(actor) <= MAX_CONTEXT_FIELDS, `${fields(actor)} fields`);
});

t.test('channel member, in the middle of a WELCOME', async (t) => {
  const clock = new ManualClock();
  const actor = createActor(channelMemberMachine, { clock, input: memberInput() });
  actor.start();
  actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  const gen = actor.getSnapshot().context.gen;
  const frame = (command: ServerCommand) => actor.send({ type: 'FRAMES', gen, commands: [command] });
  actor.send({ type: 'CONNECTED', gen });
  actor.send({ type: 'USER_SAY', text: 'hi' });
  frame({ type: 'WELCOME', channel: '#x', epoch: 1, count: 2 });
  frame({ type: 'SAY', authorId: 'a', text: 'one', msgId: 'a1', seq: 1 });
  t.ok(fields(actor) <= MAX_CONTEXT_FIELDS, `${fields(actor)} fields while welcoming`);
  frame({ type: 'SAY', authorId: 'a', text: 'two', msgId: 'a2', seq: 2 });
  t.equal(actor.getSnapshot().value, 'joined');
  t.ok(fields(actor) <= MAX_CONTEXT_FIELDS, `${fields(actor)} fields when joined`);
});

t.test('discovery and peer liveness', async (t) => {
  const clock = new ManualClock();
  const machine = discoveryMachine.provide({
    actors: { announcer: fromCallback(() => () => {}) },
  });
  const actor = createActor(machine, {
    clock,
    input: { peerId: 'me', pduIntervalMs: 250, livenessTimeoutMs: 250, maxPeers: 8 },
  });
  actor.start();
  t.ok(fields(actor) <= MAX_CONTEXT_FIELDS, `discovery: ${fields(actor)} fields`);
  const liveness = createActor(peerLivenessMachine.provide({ actors: { silence: timerSilence(clock) } }), {
    clock,
    input: { peerId: 'p', timeoutMs: 250 },
  });
  liveness.start();
  t.ok(fields(liveness) <= MAX_CONTEXT_FIELDS, `liveness: ${fields(liveness)} fields`);
});
