// Inputs of the machines as their tests start them: small limits, so that
// bounds are reached in a few events.
import { createActor } from 'xstate';
import { channelMemberMachine, type ChannelMemberEmitted, type ChannelMemberInput } from '../../machines/channel-member.ts';
import type { ServerCommand } from '../../lib/wire/command.ts';
import { ManualClock } from './manual-clock.ts';

export function memberInput(selfId = 'm'): ChannelMemberInput {
  return {
    channel: '#x',
    selfId,
    msgIdPrefix: 'p',
    historyLimit: 10,
    lookupMs: 500,
    quickReconnectMs: 100,
    welcomeTimeoutMs: 2000,
    retryMs: 1000,
    outboxLimit: 3,
    down: [],
  };
}

/** A channel-member actor on a manual clock, as its tests drive it: frames in, what it emitted out. */
export function memberActor(selfId = 'm') {
  const clock = new ManualClock();
  const emitted: ChannelMemberEmitted[] = [];
  const actor = createActor(channelMemberMachine, { clock, input: memberInput(selfId) });
  actor.on('*', (e) => emitted.push(e as ChannelMemberEmitted));
  actor.start();
  const of = <T extends ChannelMemberEmitted['type']>(type: T) => emitted.filter((e) => e.type === type) as Extract<ChannelMemberEmitted, { type: T }>[];
  const gen = () => actor.getSnapshot().context.gen;
  const frame = (command: ServerCommand) => actor.send({ type: 'FRAMES', gen: gen(), commands: [command] });
  const state = () => actor.getSnapshot().value as string;
  return { clock, actor, emitted, of, gen, frame, state };
}
