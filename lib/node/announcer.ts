// The announcer: the service the discovery machine invokes while it is
// announcing. It multicasts our PeerPDU at once, then every interval jittered
// down by up to 20% with the injected random source, so that nodes started
// together never synchronise. It runs on the node's clock outside any
// machine: a routine announcement is one timer and one send, not a machine
// transition (the simulator runs N of them per interval).
import { fromCallback, type EventObject } from 'xstate';
import type { Clock, TimerId } from '../clock.ts';
import { jitterDown, type Random } from '../random.ts';
import type { AnnouncerInput } from '../../machines/discovery.ts';

/** Spread of the PDU interval jitter (the interval is scaled by [0.8, 1.0]). */
export const PDU_JITTER = 0.2;

export function announcer(clock: Clock, random: Random, announce: () => void) {
  return fromCallback<EventObject, AnnouncerInput>(({ input }) => {
    let timer: TimerId | undefined;
    const tick = (): void => {
      announce();
      timer = clock.setTimeout(tick, jitterDown(random, input.intervalMs, PDU_JITTER));
    };
    tick();
    return () => clock.clearTimeout(timer);
  });
}
