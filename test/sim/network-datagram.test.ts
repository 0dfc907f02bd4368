import t from 'tap';
import { FIXED_5MS, GROUP, host, joinAll, makeWorld } from './world.ts';

t.test('a datagram reaches every member of the group, the sender included', async (t) => {
  const world = makeWorld(3, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  const outsider = await host(world, 0).network.joinGroup({ group: { address: '239.255.0.2', port: 5007 } });
  const outsiderInbox: string[] = [];
  outsider.onDatagram((datagram) => outsiderInbox.push(datagram.toString()));

  groups[1]?.send(Buffer.from('hello'));
  await world.scheduler.runFor(4.9);
  t.same(received, [[], [], []], 'nothing before one latency');
  await world.scheduler.runFor(0.1);
  const copy = `10.0.0.2:${GROUP.port}:hello`;
  t.same(received, [[copy], [copy], [copy]], 'from is the sender address and group port');
  t.same(outsiderInbox, [], 'another group hears nothing');
  const stats = world.network.stats();
  t.equal(stats.datagramsSent, 1);
  t.equal(stats.datagramCopies, 3);
  t.equal(stats.datagramsDelivered, 3);
});

t.test('every receiver gets the same Buffer object (receivers must not mutate it)', async (t) => {
  const world = makeWorld(3);
  const seen: Buffer[] = [];
  for (const simHost of world.hosts) {
    const group = await simHost.network.joinGroup({ group: GROUP });
    group.onDatagram((datagram) => seen.push(datagram));
  }
  const datagram = Buffer.from('shared');
  (await host(world, 0).network.joinGroup({ group: GROUP, loopback: false })).send(datagram);
  await world.scheduler.runFor(50);
  t.equal(seen.length, 2, 'loopback false: h2 and h3 only (the sockets of its own host are skipped)');
  t.ok(seen.every((buffer) => buffer === datagram));
});

t.test('closed memberships receive nothing', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  groups[0]?.send(Buffer.from('in flight'));
  groups[1]?.close();
  await world.scheduler.runFor(10);
  t.same(received[1], []);
  t.equal(world.network.stats().datagramsDropped.closed, 1);
});

t.test('loss and duplication rates hold over 10,000 datagrams', async (t) => {
  const world = makeWorld(2, { lossRate: 0.1, duplicateRate: 0.05, reorderRate: 0.2 });
  const { groups, received } = await joinAll(world);
  const sender = groups[0];
  for (let i = 0; i < 10_000; i++) {
    sender?.send(Buffer.from(String(i)));
    if (i % 100 === 99) await world.scheduler.runFor(1);
  }
  await world.scheduler.runFor(100);
  const stats = world.network.stats();
  const copies = stats.datagramCopies;
  const lossRate = stats.datagramsDropped.loss / copies;
  const duplicateRate = stats.datagramsDuplicated / (stats.datagramsSent * 2);
  t.ok(lossRate > 0.08 && lossRate < 0.12, `loss rate ${lossRate.toFixed(4)} near 0.1`);
  t.ok(duplicateRate > 0.04 && duplicateRate < 0.06, `duplicate rate ${duplicateRate.toFixed(4)} near 0.05`);
  t.equal(stats.datagramsDelivered, copies - stats.datagramsDropped.loss, 'every copy not lost arrives');
  const atReceiver = (received[1] ?? []).map((line) => Number(line.split(':')[2]));
  let inversions = 0;
  for (let i = 1; i < atReceiver.length; i++) if ((atReceiver[i] as number) < (atReceiver[i - 1] as number)) inversions++;
  t.ok(inversions > 100, `reordering happens (${inversions} inversions)`);
});

t.test('a partition drops datagrams between sides, one-way cuts in one direction only', async (t) => {
  const world = makeWorld(3, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  groups[0]?.send(Buffer.from('in-flight'));
  world.network.partition([['h1'], ['h2', 'h3']]);
  groups[0]?.send(Buffer.from('cut'));
  groups[1]?.send(Buffer.from('inside'));
  await world.scheduler.runFor(10);
  t.same(received[0], ['10.0.0.1:5007:in-flight', '10.0.0.1:5007:cut'], 'a host always hears itself');
  t.same(received[1], ['10.0.0.2:5007:inside']);
  t.same(received[2], ['10.0.0.2:5007:inside']);
  t.equal(world.network.stats().datagramsDropped.partition, 5, "2 in flight, 2 of 'cut', 1 of 'inside'");

  world.network.heal();
  world.network.partitionOneWay(['h1'], ['h2']);
  groups[0]?.send(Buffer.from('one-way'));
  groups[1]?.send(Buffer.from('other-way'));
  await world.scheduler.runFor(10);
  t.same(received[0]?.slice(2), ['10.0.0.1:5007:one-way', '10.0.0.2:5007:other-way']);
  t.same(received[1]?.slice(1), ['10.0.0.2:5007:other-way'], 'h2 does not hear h1');
  t.same(received[2]?.slice(1), ['10.0.0.1:5007:one-way', '10.0.0.2:5007:other-way']);
});

t.test('a frozen host holds 64 datagrams for its thaw and drops the rest', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  world.network.freeze('h2');
  for (let i = 0; i < 100; i++) groups[0]?.send(Buffer.from(String(i)));
  await world.scheduler.runFor(50);
  t.equal(received[1]?.length, 0, 'nothing while frozen');
  t.equal(received[0]?.length, 100, 'the sender is not frozen');
  world.network.thaw('h2');
  const thawedAt = world.scheduler.now();
  let deliveredAt = -1;
  groups[1]?.onDatagram(() => {
    deliveredAt = world.scheduler.now();
  });
  await world.scheduler.runFor(1);
  t.same(
    received[1]?.map((line) => line.split(':')[2]),
    Array.from({ length: 64 }, (_, i) => String(i)),
    'the first 64, in order',
  );
  t.equal(deliveredAt, thawedAt, 'delivered at thaw time');
  t.equal(world.network.stats().datagramsDropped.frozenOverflow, 36);
});

t.test('a crashed host leaves its groups; copies in flight to it count as dropped', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  groups[0]?.send(Buffer.from('before'));
  world.network.crash('h2');
  groups[1]?.send(Buffer.from('from the dead')); // a dead process sends nothing
  groups[0]?.send(Buffer.from('after'));
  await world.scheduler.runFor(10);
  t.same(received[1], []);
  t.same(received[0], ['10.0.0.1:5007:before', '10.0.0.1:5007:after']);
  const stats = world.network.stats();
  t.equal(stats.datagramsDropped.crashed, 1);
  t.equal(stats.datagramCopies, 3, 'after the crash only the sender itself is a member');
});

t.test('a loss burst drops datagrams for its duration only', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  world.network.lossBurst(1, 100);
  groups[0]?.send(Buffer.from('lost'));
  await world.scheduler.runFor(100);
  groups[0]?.send(Buffer.from('kept'));
  await world.scheduler.runFor(10);
  t.same(received[1], ['10.0.0.1:5007:kept']);
  t.equal(world.network.stats().datagramsDropped.loss, 2);
});

t.test('a datagram over the UDP limit is dropped', async (t) => {
  const world = makeWorld(1);
  const { groups, received } = await joinAll(world);
  groups[0]?.send(Buffer.alloc(65_508));
  await world.scheduler.runFor(50);
  t.same(received[0], []);
  t.equal(world.network.stats().datagramsDropped.oversize, 1);
});

t.test('one send is one timeline entry; its copies arrive in time order, each one event', async (t) => {
  const world = makeWorld(50);
  const arrivals: number[] = [];
  for (const simHost of world.hosts) {
    const group = await simHost.network.joinGroup({ group: GROUP });
    group.onDatagram(() => arrivals.push(world.scheduler.now()));
  }
  const before = world.scheduler.stats();
  (await host(world, 0).network.joinGroup({ group: GROUP, loopback: false })).send(Buffer.from('x'));
  t.equal(world.scheduler.stats().heapSize - before.heapSize, 1, 'one heap entry for 49 copies');
  let events = 0;
  await world.scheduler.runFor(50, { onEvent: () => events++ });
  t.equal(arrivals.length, 49);
  t.equal(events, 49, 'onEvent once per delivered copy');
  t.equal(world.scheduler.stats().eventsRun - before.eventsRun, 49);
  t.ok(arrivals.every((at, i) => i === 0 || at >= (arrivals[i - 1] as number)), 'in time order');
  t.ok(arrivals.every((at) => at >= 0.1 && at <= 20), 'within the latency bounds');
  t.ok(arrivals.every((at) => Math.abs(at * 1000 - Math.round(at * 1000)) < 1e-6), 'on the microsecond grid');
});

t.test('sorted latencies keep their distribution, and every receiver its fair share of early copies', async (t) => {
  const latency = { latencyMsMin: 1, latencyMsMean: 2, latencyMsMax: 20 };
  const world = makeWorld(20, latency);
  const latencies: number[] = [];
  const perReceiver: number[][] = world.hosts.map(() => []);
  const firsts = new Array<number>(20).fill(0);
  let sentAt = 0;
  let firstTaken = false;
  for (const [index, simHost] of world.hosts.entries()) {
    const group = await simHost.network.joinGroup({ group: GROUP });
    group.onDatagram(() => {
      const ms = world.scheduler.now() - sentAt;
      latencies.push(ms);
      perReceiver[index]?.push(ms);
      if (!firstTaken) firsts[index]!++;
      firstTaken = true;
    });
  }
  const sender = await host(world, 0).network.joinGroup({ group: GROUP });
  for (let i = 0; i < 2000; i++) {
    sentAt = world.scheduler.now();
    firstTaken = false;
    sender.send(Buffer.from('x'));
    await world.scheduler.runFor(25); // > latencyMsMax: one flight at a time
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  t.equal(latencies.length, 40_000);
  t.ok(Math.abs(mean(latencies) - 2) < 0.02, `mean latency ${mean(latencies).toFixed(4)} near 2`);
  const overTailMean = latencies.filter((ms) => ms > 2).length / latencies.length;
  t.ok(Math.abs(overTailMean - Math.exp(-1)) < 0.01, `P(tail > its mean) ${overTailMean.toFixed(4)} near e^-1`);
  t.ok(latencies.every((ms) => ms >= 1 && ms <= 20));
  for (const [index, own] of perReceiver.entries()) {
    t.ok(Math.abs(mean(own) - 2) < 0.1, `h${index + 1}: mean ${mean(own).toFixed(3)}`);
  }
  t.ok(
    firsts.every((n) => n > 50 && n < 150),
    `first copy of a send: each receiver near 100 times of 2000 (${firsts.join(' ')})`,
  );
});

t.test('same seed, same arrivals: ties and order are fixed', async (t) => {
  const run = async (): Promise<string[]> => {
    const world = makeWorld(8, { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.2 }, 42);
    const { groups } = await joinAll(world);
    const order: string[] = [];
    for (const [index, group] of groups.entries()) {
      group.onDatagram((datagram) => order.push(`${world.scheduler.now()} h${index + 1} ${datagram.toString()}`));
    }
    for (let i = 0; i < 200; i++) {
      groups[i % 8]?.send(Buffer.from(String(i)));
      if (i % 10 === 9) await world.scheduler.runFor(0.3);
    }
    await world.scheduler.runFor(50);
    return order;
  };
  const first = await run();
  t.ok(first.length > 1000);
  t.same(await run(), first);
});

t.test('a receiver that freezes while a flight is on its way gets its copy at the thaw', async (t) => {
  const world = makeWorld(3, FIXED_5MS);
  const { groups, received } = await joinAll(world);
  groups[0]?.send(Buffer.from('in flight'));
  await world.scheduler.runFor(2);
  world.network.freeze('h2');
  await world.scheduler.runFor(10);
  t.same(received[1], [], 'held while frozen');
  t.same(received[2], ['10.0.0.1:5007:in flight'], 'the other receivers are not held up');
  world.network.thaw('h2');
  await world.scheduler.runFor(0);
  t.same(received[1], ['10.0.0.1:5007:in flight']);
  t.equal(world.scheduler.stats().eventsHeld, 1);
});
