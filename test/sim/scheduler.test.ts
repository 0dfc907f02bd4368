import t from 'tap';
import { EventSeries, Scheduler, SimulationError } from '../../sim/scheduler.ts';
import { simulate } from './helpers.ts';

t.test('events run in time order, ties in insertion order', async (t) => {
  const scheduler = new Scheduler();
  const ran: string[] = [];
  scheduler.at(5, () => ran.push('a@5'));
  scheduler.at(3, () => ran.push('b@3'));
  scheduler.at(5, () => ran.push('c@5'));
  scheduler.at(3, () => ran.push('d@3'));
  scheduler.after(0, () => ran.push('e@0'));
  t.equal(scheduler.now(), 0, 'time starts at 0');
  await scheduler.runUntil(10);
  t.same(ran, ['e@0', 'b@3', 'd@3', 'a@5', 'c@5']);
  t.equal(scheduler.now(), 10, 'the clock is left at the target time');
  t.throws(() => scheduler.at(9, () => {}), RangeError, 'time never goes backwards');
});

t.test('events scheduled from a callback at the same instant run at that instant', async (t) => {
  const scheduler = new Scheduler();
  const ran: string[] = [];
  scheduler.at(4, () => {
    ran.push(`first@${scheduler.now()}`);
    scheduler.after(0, () => ran.push(`second@${scheduler.now()}`));
  });
  await scheduler.runUntil(4);
  t.same(ran, ['first@4', 'second@4']);
});

t.test('a timeout re-armed from its own callback fires once per period when advancing far', async (t) => {
  // XState's SimulatedClock.increment(1000) would fire it once, at 1000.
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  const fired: number[] = [];
  const heartbeat = (): void => {
    fired.push(clock.now());
    clock.setTimeout(heartbeat, 100);
  };
  clock.setTimeout(heartbeat, 100);
  await scheduler.runUntil(1000);
  t.same(fired, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
});

t.test('setTimeout clamps delays like Node; clearTimeout cancels only its own timers', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  const other = scheduler.clockFor('n2');
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`zero@${clock.now()}`), 0);
  clock.setTimeout(() => fired.push(`nan@${clock.now()}`), Number.NaN);
  const cancelled = clock.setTimeout(() => fired.push('cancelled'), 5);
  const foreign = other.setTimeout(() => fired.push(`foreign@${clock.now()}`), 5);
  clock.clearTimeout(cancelled);
  clock.clearTimeout(cancelled); // twice is harmless
  clock.clearTimeout(foreign); // not this clock's: ignored, as clearTimeout ignores what it did not create
  clock.clearTimeout(undefined);
  await scheduler.runUntil(10);
  t.same(fired, ['zero@1', 'nan@1', 'foreign@5']);
});

t.test('a frozen owner: its timers wait and fire at thaw time in their original order', async (t) => {
  const scheduler = new Scheduler();
  const frozen = scheduler.clockFor('n1');
  const running = scheduler.clockFor('n2');
  const fired: string[] = [];
  const record = (name: string) => () => fired.push(`${name}@${scheduler.now()}`);
  frozen.setTimeout(record('n1-20'), 20);
  frozen.setTimeout(record('n1-10'), 10);
  frozen.setTimeout(record('n1-25'), 25); // due exactly at the thaw instant
  frozen.setTimeout(record('n1-40'), 40); // not yet due at the thaw
  running.setTimeout(record('n2-15'), 15);
  scheduler.at(5, () => frozen.freeze());
  scheduler.at(25, () => scheduler.thaw('n1'));
  await scheduler.runUntil(50);
  t.same(fired, ['n2-15@15', 'n1-10@25', 'n1-20@25', 'n1-25@25', 'n1-40@40']);
  t.equal(scheduler.stats().eventsHeld, 3, 'n1-25 came due before the thaw event of the same instant');
});

t.test('timers set and cleared while frozen behave', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  const fired: string[] = [];
  clock.freeze();
  t.ok(clock.frozen && scheduler.isFrozen('n1'));
  const dropped = clock.setTimeout(() => fired.push('dropped'), 10);
  clock.setTimeout(() => fired.push(`kept@${clock.now()}`), 20);
  await scheduler.runUntil(30);
  t.same(fired, [], 'nothing fires while frozen');
  t.equal(scheduler.stats().parked, 2);
  clock.clearTimeout(dropped); // cancelling a held timer works
  clock.thaw();
  await scheduler.runUntil(30);
  t.same(fired, ['kept@30']);
});

t.test('destroy: timers cancelled for ever, later setTimeout ignored, a fresh clock after', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('old-timer'), 10);
  scheduler.at(20, () => fired.push('network-delivery'), 'n1');
  scheduler.at(5, () => {
    t.equal(scheduler.destroy('n1'), 2, 'both pending events cancelled');
    clock.setTimeout(() => fired.push('after-crash'), 1);
    scheduler.at(30, () => fired.push('delivery-after-crash'), 'n1');
  });
  await scheduler.runUntil(40);
  t.same(fired, []);
  t.ok(clock.destroyed && scheduler.isDestroyed('n1'));

  const restarted = scheduler.clockFor('n1');
  t.notOk(restarted.destroyed, 'clockFor starts a fresh incarnation');
  restarted.setTimeout(() => fired.push(`restarted@${restarted.now()}`), 10);
  clock.setTimeout(() => fired.push('old-clock'), 1);
  scheduler.at(45, () => fired.push('old-incarnation'), clock); // bound to the dead process
  await scheduler.runUntil(60);
  t.same(fired, ['restarted@50']);
});

t.test('an event held for a frozen owner can be refused by onHold (a bounded buffer)', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  clock.freeze();
  let held = 0;
  const delivered: number[] = [];
  for (let i = 0; i < 5; i++) {
    scheduler.at(i, () => delivered.push(i), clock, () => held++ < 3);
  }
  await scheduler.runUntil(10);
  clock.thaw();
  await scheduler.runUntil(10);
  t.same(delivered, [0, 1, 2]);
  t.equal(scheduler.stats().eventsDroppedWhileFrozen, 2);
});

t.test('promise continuations run before time advances', async (t) => {
  const scheduler = new Scheduler();
  const seen: string[] = [];
  const settledAt10 = new Promise<void>((resolve) => scheduler.at(10, resolve));
  scheduler.at(11, () => seen.push('event@11'));
  const continuation = (async () => {
    await settledAt10;
    await Promise.resolve(); // a chain of awaits still runs at 10
    seen.push(`continuation@${scheduler.now()}`);
    scheduler.after(0, () => seen.push(`scheduled-by-continuation@${scheduler.now()}`));
  })();
  await scheduler.runUntil(20);
  await continuation;
  t.same(seen, ['continuation@10', 'scheduled-by-continuation@10', 'event@11']);
});

t.test('an exception in a callback comes out of runUntil with the virtual time', async (t) => {
  const scheduler = new Scheduler();
  scheduler.at(7, () => {
    throw new Error('invariant broken');
  }, 'n3');
  const error = await scheduler.runUntil(100).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.ok(error instanceof SimulationError);
  const simulationError = error as SimulationError;
  t.equal(simulationError.timeMs, 7);
  t.equal(simulationError.owner, 'n3');
  t.match(simulationError.message, /at t=7 ms on n3: invariant broken/);
  t.equal((simulationError.cause as Error).message, 'invariant broken');
  t.equal(scheduler.now(), 7);
  await scheduler.runUntil(8); // the timeline stays usable
  t.equal(scheduler.now(), 8);
});

t.test('runUntilIdle stops when idle, or at its limit when timers never stop', async (t) => {
  const scheduler = new Scheduler();
  scheduler.at(30, () => {});
  t.equal(await scheduler.runUntilIdle(), true);
  t.equal(scheduler.now(), 30, 'idle: the clock stays at the last event');

  const clock = scheduler.clockFor('n1');
  const tick = (): void => void clock.setTimeout(tick, 10);
  tick();
  t.equal(await scheduler.runUntilIdle({ limitMs: 1000 }), false);
  t.equal(scheduler.now(), 1030);
});

t.test('onEvent runs after every event that ran', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  for (let i = 1; i <= 5; i++) clock.setTimeout(() => {}, i);
  clock.clearTimeout(clock.setTimeout(() => {}, 3));
  let checks = 0;
  await scheduler.runUntil(10, { onEvent: () => checks++ });
  t.equal(checks, 5);
  t.equal(scheduler.stats().eventsRun, 5);
});

t.test('cancelled events do not pile up in the heap', async (t) => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor('n1');
  for (let round = 0; round < 20; round++) {
    const ids = [];
    for (let i = 0; i < 10_000; i++) ids.push(clock.setTimeout(() => {}, 1000 + i));
    for (const id of ids) clock.clearTimeout(id);
  }
  const stats = scheduler.stats();
  t.equal(stats.eventsCancelled, 200_000);
  t.ok(stats.heapSize < 2048, `heap compacted (size ${stats.heapSize})`);
  let ran = 0;
  clock.setTimeout(() => ran++, 5);
  await scheduler.runUntilIdle();
  t.equal(ran, 1);
  t.equal(scheduler.stats().heapSize, 0);
});

t.test('a zero-delay loop is caught instead of spinning at one instant', async (t) => {
  const scheduler = new Scheduler({ eventsPerInstantMax: 1000 });
  const again = (): void => void scheduler.after(0, again);
  scheduler.at(3, again);
  await t.rejects(scheduler.runUntil(10), /zero-delay loop/);
});

t.test('one driver at a time', async (t) => {
  const scheduler = new Scheduler();
  scheduler.at(5, () => {});
  const first = scheduler.runUntil(10);
  await t.rejects(scheduler.runUntil(10), /already running/);
  await first;
});

t.test("drain 'when-settled': continuations still run at their instant, however they were queued", async (t) => {
  const scheduler = new Scheduler({ drain: 'when-settled' });
  const seen: string[] = [];
  const settledLongAgo = Promise.resolve();
  await settledLongAgo;
  // `await` of a settled promise settles nothing: only the promise it creates tells.
  scheduler.at(10, () => {
    void (async () => {
      await settledLongAgo;
      seen.push(`await-settled@${scheduler.now()}`);
    })();
  });
  // queueMicrotask reports to no promise hook (lib/node/connection-writer.ts flushes with it).
  scheduler.at(20, () => queueMicrotask(() => seen.push(`queueMicrotask@${scheduler.now()}`)));
  scheduler.at(30, () => process.nextTick(() => seen.push(`nextTick@${scheduler.now()}`)));
  scheduler.at(40, () => void settledLongAgo.then(() => seen.push(`then@${scheduler.now()}`)));
  for (const at of [11, 21, 31, 41]) scheduler.at(at, () => seen.push(`event@${at}`));
  await scheduler.runUntil(50);
  t.same(seen, ['await-settled@10', 'event@11', 'queueMicrotask@20', 'event@21', 'nextTick@30', 'event@31', 'then@40', 'event@41']);
});

t.test("drain 'when-settled' pays only when a microtask may be queued; 'always' at every instant", async (t) => {
  const count = async (drain: 'always' | 'when-settled'): Promise<number> => {
    const scheduler = new Scheduler({ drain });
    const clock = scheduler.clockFor('n1');
    for (let i = 1; i <= 1000; i++) clock.setTimeout(() => {}, i);
    await scheduler.runUntil(2000);
    return scheduler.stats().microtaskFlushes;
  };
  t.ok((await count('always')) >= 1000, 'always: once per instant');
  t.ok((await count('when-settled')) <= 2, 'when-settled: timers alone queue nothing');
});

t.test('a cluster run gives the same event log under both drain modes', async (t) => {
  const options = { nodes: 6, channels: 2, durationMs: 20_000, faults: 'random', faultGapMs: 3000, keepLog: false };
  const flushes = { always: 0, whenSettled: 0 };
  const always = await simulate({ ...options, drain: 'always', inspect: (c) => (flushes.always = c.scheduler.stats().microtaskFlushes) });
  const whenSettled = await simulate({
    ...options,
    drain: 'when-settled',
    inspect: (c) => (flushes.whenSettled = c.scheduler.stats().microtaskFlushes),
  });
  t.ok(always.plan.length > 0, `faults were injected (${always.plan.length} steps)`);
  t.equal(whenSettled.hash, always.hash, 'one hash');
  t.equal(whenSettled.events.eventsRun, always.events.eventsRun, 'the same events');
  t.ok(flushes.whenSettled * 5 < flushes.always, `far fewer drains (${flushes.whenSettled} vs ${flushes.always})`);
});

t.test('a series: its steps interleave with events by (time, sequence), each one event', async (t) => {
  class Steps extends EventSeries {
    constructor(
      readonly times: number[],
      readonly ran: string[],
      readonly now: () => number,
    ) {
      super();
      this.steps = times.length;
    }
    timeOf(step: number): number {
      return this.times[step] as number;
    }
    fire(step: number): boolean {
      this.ran.push(`step${step}@${this.now()}`);
      if (step === 3) throw new Error('step 3 fails');
      return step !== 1; // step 1 did not run as an event (e.g. held for a frozen owner)
    }
    ownerNameOf(step: number): string {
      return `owner${step}`;
    }
  }
  const scheduler = new Scheduler();
  const ran: string[] = [];
  scheduler.at(2, () => ran.push('event-before@2'));
  scheduler.addSeries(new Steps([1, 2, 2, 5], ran, () => scheduler.now()));
  scheduler.at(2, () => ran.push('event-after@2'));
  t.throws(() => scheduler.addSeries(new Steps([], ran, () => 0)), RangeError, 'a series has steps');
  let events = 0;
  const error = await scheduler.runUntil(10, { onEvent: () => events++ }).catch((caught: unknown) => caught);
  t.same(ran, ['step0@1', 'event-before@2', 'step1@2', 'step2@2', 'event-after@2', 'step3@5']);
  t.equal(events, 4, 'steps 0 and 2 and the two events: step 1 was no event');
  t.ok(error instanceof SimulationError && error.owner === 'owner3' && error.timeMs === 5, 'a failing step names its owner');
});
