// Inputs of the machines as their tests start them: small limits, so that
// bounds are reached in a few events.
import type { ChannelMemberInput } from '../../machines/channel-member.ts';

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
