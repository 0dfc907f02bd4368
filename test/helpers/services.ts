// The services machines invoke (machines/peer-liveness.ts `silence`,
// machines/discovery.ts `announcer`), for machine tests on a ManualClock.
import { fromCallback, type EventObject } from 'xstate';
import type { Clock } from '../../lib/clock.ts';
import type { SilenceInput } from '../../machines/peer-liveness.ts';

/**
 * The plainest silence service: a timer of X that re-arms itself when it
 * expires and restarts on every PDU the machine forwards. A node's service
 * (PeerIntake.watchSilence) is refreshed by routine datagrams too, which the
 * machine never sees; test/node/peer-intake.test.ts covers it.
 */
export function timerSilence(clock: Clock) {
  return fromCallback<EventObject, SilenceInput>(({ input, sendBack, receive }) => {
    let id: unknown;
    const arm = (): void => {
      id = clock.setTimeout(() => {
        sendBack({ type: 'SILENT' });
        arm();
      }, input.timeoutMs);
    };
    arm();
    receive(() => {
      clock.clearTimeout(id);
      arm();
    });
    return () => clock.clearTimeout(id);
  });
}
