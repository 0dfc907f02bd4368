import t from 'tap';
import { assign, createActor, setup } from 'xstate';
import { Scheduler } from '../../sim/scheduler.ts';

// A machine whose `after` timer re-enters its state: the heartbeat shape of
// peer-liveness. Run on an OwnedClock it beats once per period, and freezes
// and dies with its host.
const heartbeat = setup({
  types: { context: {} as { beats: number } },
  delays: { period: 100 },
}).createMachine({
  context: { beats: 0 },
  initial: 'alive',
  states: {
    alive: {
      after: { period: { target: 'alive', reenter: true, actions: assign({ beats: ({ context }) => context.beats + 1 }) } },
    },
  },
});

t.test("an XState machine's after-timers run on the owned clock", async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  const actor = createActor(heartbeat, { clock }).start();
  await scheduler.runUntil(1000);
  t.equal(actor.getSnapshot().context.beats, 10, 'one beat per period, none skipped');

  clock.freeze();
  await scheduler.runUntil(2000);
  t.equal(actor.getSnapshot().context.beats, 10, 'frozen: no beats');
  clock.thaw();
  await scheduler.runUntil(2000);
  t.equal(actor.getSnapshot().context.beats, 11, 'the overdue timer fires once at thaw');
  await scheduler.runUntil(2100);
  t.equal(actor.getSnapshot().context.beats, 12, 'and the period restarts from the thaw');

  clock.destroy();
  await scheduler.runUntil(5000);
  t.equal(actor.getSnapshot().context.beats, 12, 'a crashed host beats no more');
  actor.stop();
});
