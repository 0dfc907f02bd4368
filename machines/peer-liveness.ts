// One discovered peer's liveness: the KIT draft's figure 6, state for state.
//
//   timerAlive --X--> maybeDisconnected --X (failTimer < 3)--> maybeDisconnected
//       ^                   |                                   \--X (failTimer == 3)--> disconnected
//       +-- timerRefresh <--+ PDU
//
// X is the liveness timeout (by default the PDU interval), so a silent peer
// is maybeDisconnected after X and disconnected after 4X.
//
// Figure 6's timer is the invoked `silence` service, one per peer for the
// actor's life: it sends SILENT each time X passes without the peer being
// heard (timer <= 0), and PDU when the peer is heard again after that (a
// PeerPDU arriving in maybeDisconnected); a PDU event forwarded to it sets
// timer = X. A node provides it from its PDU intake
// (lib/node/peer-intake.ts), which hears every datagram and so needs no
// forwarded PDU: at N^2 datagrams per interval, a machine event per datagram
// is what a cluster cannot afford. So a lost datagram costs two events here
// (SILENT, then the next datagram's PDU), and none elsewhere.
//
// A suspicion and its end change nothing but this machine: they go to the
// `report` action, which the node provides (it logs them). The disconnection
// ends the actor (`disconnected` is final, its output says so); whoever runs
// it (lib/node/liveness-actors.ts) tells the discovery machine, which drops
// the peer (figure 6: it "may be deleted from the peer list").
import { assign, enqueueActions, fromCallback, sendTo, setup, type EventObject } from 'xstate';

export type LivenessState = 'timerAlive' | 'maybeDisconnected' | 'disconnected';

/** Expiries of X in maybeDisconnected before the peer is disconnected (figure 6). */
export const FAIL_TIMER_MAX = 3;

/** How long a peer that went silent takes to be disconnected: X, then FAIL_TIMER_MAX more (4X). */
export function detectionTimeMs(timeoutMs: number): number {
  return (FAIL_TIMER_MAX + 1) * timeoutMs;
}

export interface PeerLivenessInput {
  peerId: string;
  /** X: how long without a PDU before a timer run expires. */
  timeoutMs: number;
}

export interface PeerLivenessContext extends PeerLivenessInput {
  failTimer: number;
}

export type PeerLivenessEvent = { type: 'PDU' } | { type: 'SILENT' };

/** A change of figure-6 state, as this machine tells it. */
export interface PeerLivenessChange {
  peerId: string;
  state: LivenessState;
  failTimer: number;
}

/** Input of the `silence` service. */
export interface SilenceInput {
  peerId: string;
  timeoutMs: number;
}

/** The service a node must provide: send back SILENT each time the peer was silent for timeoutMs, PDU when it is heard after that; a PDU event restarts the count. */
export const silenceService = fromCallback<EventObject, SilenceInput>(() => {
  throw new Error('peerLivenessMachine: provide the silence service (see lib/node/peer-intake.ts)');
});

/** A liveness actor's output, which its owner hands to the discovery machine: the peer is disconnected. */
export interface PeerDisconnected {
  type: 'PEER_DISCONNECTED';
  peerId: string;
  failTimer: number;
}

export const peerLivenessMachine = setup({
  types: {
    context: {} as PeerLivenessContext,
    events: {} as PeerLivenessEvent,
    input: {} as PeerLivenessInput,
    output: {} as PeerDisconnected,
  },
  actors: { silence: silenceService },
  actions: {
    /** A suspicion (maybeDisconnected) or its end (timerAlive again): the node provides what is done with it. */
    report: (_, _change: PeerLivenessChange) => {
      throw new Error('peerLivenessMachine: provide the report action (see lib/node/node.ts)');
    },
  },
  guards: {
    failTimerExhausted: ({ context }) => context.failTimer >= FAIL_TIMER_MAX,
  },
}).createMachine({
  id: 'peerLiveness',
  context: ({ input }) => ({ ...input, failTimer: 0 }),
  invoke: { id: 'timer', src: 'silence', input: ({ context }) => ({ peerId: context.peerId, timeoutMs: context.timeoutMs }) },
  initial: 'timerAlive',
  states: {
    timerAlive: {
      // Back from maybeDisconnected is a state change worth a report;
      // the routine refresh (failTimer already 0) is not.
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.failTimer > 0) enqueue({ type: 'report', params: { peerId: context.peerId, state: 'timerAlive', failTimer: 0 } });
        enqueue(assign({ failTimer: 0 }));
      }),
      on: { SILENT: { target: 'maybeDisconnected' }, PDU: { target: 'timerRefresh' } },
    },
    timerRefresh: {
      // entry: timer = X.
      entry: sendTo('timer', { type: 'PDU' }),
      always: { target: 'timerAlive' },
    },
    maybeDisconnected: {
      // entry: timer = X (the service counts X again from this expiry); failTimer++.
      entry: [
        assign({ failTimer: ({ context }) => context.failTimer + 1 }),
        { type: 'report', params: ({ context }) => ({ peerId: context.peerId, state: 'maybeDisconnected' as const, failTimer: context.failTimer }) },
      ],
      on: {
        SILENT: [
          { guard: 'failTimerExhausted', target: 'disconnected' },
          { target: 'maybeDisconnected', reenter: true },
        ],
        PDU: { target: 'timerRefresh' },
      },
    },
    disconnected: {
      type: 'final',
    },
  },
  output: ({ context }) => ({ type: 'PEER_DISCONNECTED', peerId: context.peerId, failTimer: context.failTimer }),
});
