// A node's figure-6 liveness actors (machines/peer-liveness.ts): one per
// peer in the discovery machine's table, started when the machine takes a
// peer or a new incarnation in, replaced with the incarnation, and ended by
// the peer's disconnection, which goes back to the machine.
//
// They run beside the discovery machine rather than as its children: XState
// keeps a machine's children in one object that every snapshot spawning or
// stopping one copies, so a child per peer made each peer that came or went
// cost time in proportion to the table (3 ms at 1,000 peers, most of a
// node's CPU when a partition heals; bench:discovery). Here a peer costs the
// same at any table size.
import { createActor, type Actor } from 'xstate';
import type { Clock } from '../clock.ts';
import type { DiscoveryEmitted } from '../../machines/discovery.ts';
import type { PeerDisconnected, peerLivenessMachine } from '../../machines/peer-liveness.ts';

/** The liveness machine with the node's services (its silence watch and report). */
type LivenessLogic = typeof peerLivenessMachine;

export class LivenessActors {
  private readonly actors = new Map<string, Actor<LivenessLogic>>();

  constructor(
    private readonly logic: LivenessLogic,
    private readonly clock: Clock,
    /** The peer's actor ended in `disconnected`: tell the discovery machine. */
    private readonly onDisconnected: (event: PeerDisconnected) => void,
    /** An actor failed (a bug): the node reports it as a fault (and its peer is disconnected). */
    private readonly onFault: (error: unknown) => void,
  ) {}

  /**
   * What the discovery machine did to its table: a peer it took in (new, or
   * a new incarnation) gets its actor, a peer it removed (disconnected) has
   * none (its actor has ended already), so there is one actor per record of
   * the table.
   */
  follow(effect: DiscoveryEmitted): void {
    if (effect.type === 'peerDiscovered' || effect.type === 'peerRestarted') this.start(effect.peer.peerId, effect.peer.timeoutMs);
    else if (effect.type === 'peerDisconnected') this.stop(effect.peerId);
  }

  /** Its actor starts, in place of any it had. */
  private start(peerId: string, timeoutMs: number): void {
    this.stop(peerId);
    const actor = createActor(this.logic, { clock: this.clock, input: { peerId, timeoutMs } });
    this.actors.set(peerId, actor);
    // The actor ended by itself: its peer is disconnected. (One that stop()
    // ended is out of the map already: no disconnection.)
    const ended = (disconnected: PeerDisconnected) => {
      if (this.actors.get(peerId) !== actor) return;
      this.actors.delete(peerId);
      this.onDisconnected(disconnected);
    };
    actor.subscribe({
      complete: () => ended(actor.getSnapshot().output!),
      // A peer whose figure 6 no longer runs would never be found silent: it
      // is disconnected now, like a silent one, and its next PDU finds it
      // again with a new actor.
      error: (error) => {
        this.onFault(error);
        ended({ type: 'PEER_DISCONNECTED', peerId, failTimer: actor.getSnapshot().context.failTimer });
      },
    });
    actor.start();
  }

  /** End the peer's actor without a disconnection. */
  private stop(peerId: string): void {
    const actor = this.actors.get(peerId);
    if (actor === undefined) return;
    this.actors.delete(peerId);
    actor.stop();
  }

  stopAll(): void {
    for (const peerId of [...this.actors.keys()]) this.stop(peerId);
  }

  /** Where the peer is in figure 6 (undefined: not in the table). */
  stateOf(peerId: string) {
    return this.actors.get(peerId)?.getSnapshot().value;
  }
}
