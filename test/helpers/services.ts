// The services machines invoke (machines/peer-liveness.ts `silence`,
// machines/discovery.ts `announcer`), for machine tests on a ManualClock.
import { fromCallback, type EventObject } from 'xstate';
import type { Clock } from '../../lib/clock.ts';
import type { SilenceInput } from '../../machines/peer-liveness.ts';

/**
 * The plainest silence service: one timer of X, restarted by re-entering
 * timerAlive (a PDU event). A node's service (PeerIntake.watchSilence) is
 * refreshed by routine datagrams too; test/node/peer-intake.test.ts covers it.
 */
export function timerSilence(clock: Clock) {
  return fromCallback<EventObject, SilenceInput>(({ input, sendBack }) => {
    const id = clock.setTimeout(() => sendBack({ type: 'SILENT' }), input.timeoutMs);
    return () => clock.clearTimeout(id);
  });
}
