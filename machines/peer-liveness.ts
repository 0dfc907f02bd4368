// One discovered peer's liveness: the KIT draft's figure 6, state for state.
//
//   timerAlive --X--> maybeDisconnected --X (failTimer < 3)--> maybeDisconnected
//       ^                   |                                   \--X (failTimer == 3)--> disconnected
//       +-- timerRefresh <--+ PDU
//
// X is the liveness timeout (by default the PDU interval), so a silent peer
// is maybeDisconnected after X and disconnected after 4X. The timer is the
// machine's own `after` delay, which XState cancels on exit: a re-entered
// state restarts it. Time comes from the actor system's clock.
import { assign, enqueueActions, sendParent, setup } from 'xstate';

export type LivenessState = 'timerAlive' | 'maybeDisconnected' | 'disconnected';

/** Expiries of X in maybeDisconnected before the peer is disconnected (figure 6). */
export const FAIL_TIMER_MAX = 3;

export interface PeerLivenessInput {
  peerId: string;
  /** X: how long without a PDU before a timer run expires. */
  timeoutMs: number;
}

export interface PeerLivenessContext extends PeerLivenessInput {
  failTimer: number;
}

export type PeerLivenessEvent = { type: 'PDU' };

/** What a liveness actor tells its parent (the discovery machine). */
export interface PeerLivenessChanged {
  type: 'PEER_LIVENESS';
  peerId: string;
  state: LivenessState;
  failTimer: number;
}

export const peerLivenessMachine = setup({
  types: {
    context: {} as PeerLivenessContext,
    events: {} as PeerLivenessEvent,
    input: {} as PeerLivenessInput,
  },
  delays: {
    X: ({ context }) => context.timeoutMs,
  },
  actions: {
    notifyParent: sendParent(
      ({ context }, params: { state: LivenessState }): PeerLivenessChanged => ({
        type: 'PEER_LIVENESS',
        peerId: context.peerId,
        state: params.state,
        failTimer: params.state === 'timerAlive' ? 0 : context.failTimer,
      }),
    ),
  },
  guards: {
    failTimerExhausted: ({ context }) => context.failTimer >= FAIL_TIMER_MAX,
  },
}).createMachine({
  id: 'peerLiveness',
  context: ({ input }) => ({ ...input, failTimer: 0 }),
  initial: 'timerAlive',
  states: {
    timerAlive: {
      // Back from maybeDisconnected is a state change worth a log line;
      // the routine refresh (failTimer already 0) is not.
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.failTimer > 0) enqueue({ type: 'notifyParent', params: { state: 'timerAlive' } });
        enqueue(assign({ failTimer: 0 }));
      }),
      after: { X: { target: 'maybeDisconnected' } },
      on: { PDU: { target: 'timerRefresh' } },
    },
    timerRefresh: {
      // entry: timer = X. Re-entering timerAlive restarts its `after` timer.
      always: { target: 'timerAlive' },
    },
    maybeDisconnected: {
      entry: [assign({ failTimer: ({ context }) => context.failTimer + 1 }), { type: 'notifyParent', params: { state: 'maybeDisconnected' } }],
      after: {
        X: [
          { guard: 'failTimerExhausted', target: 'disconnected' },
          { target: 'maybeDisconnected', reenter: true },
        ],
      },
      on: { PDU: { target: 'timerRefresh' } },
    },
    disconnected: {
      type: 'final',
      entry: { type: 'notifyParent', params: { state: 'disconnected' } },
    },
  },
});
