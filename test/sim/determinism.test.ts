import t from 'tap';
import type { StreamConnection } from '../../lib/net/transport.ts';
import { SeededRandom } from '../../lib/random.ts';
import { SimNetwork } from '../../sim/network.ts';
import { Scheduler } from '../../sim/scheduler.ts';
import { GROUP } from './world.ts';

/**
 * Four hosts heartbeat over multicast with jittered timers, three of them
 * stream to the first through async code, under loss, duplication,
 * reordering, split chunks, a partition, a crash and a freeze. Returns the
 * (time, event) trace.
 */
async function scenario(seed: number): Promise<string[]> {
  const random = new SeededRandom(seed);
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, random.fork(), {
    latencyMsMin: 0.2,
    latencyMsMean: 2,
    latencyMsMax: 40,
    lossRate: 0.05,
    duplicateRate: 0.02,
    reorderRate: 0.1,
    splitChunks: true,
  });
  const trace: string[] = [];
  const record = (event: string): void => void trace.push(`${scheduler.now()} ${event}`);

  const ids = ['h1', 'h2', 'h3', 'h4'];
  const runs = ids.map(async (id, index) => {
    const host = network.host(id, `10.0.0.${index + 1}`);
    const jitter = random.fork();
    const group = await host.network.joinGroup({ group: GROUP });
    group.onDatagram((datagram, from) => record(`${id} heard ${from.address} ${datagram.toString()}`));
    let beat = 0;
    const heartbeat = (): void => {
      group.send(Buffer.from(`${id}#${beat++}`));
      host.clock.setTimeout(heartbeat, 20 + jitter.next() * 10);
    };
    host.clock.setTimeout(heartbeat, jitter.next() * 10);

    if (id === 'h1') {
      const listener = await host.network.listen(50000);
      listener.onConnection((connection) => {
        const peer = `${connection.remote.address}:${connection.remote.port}`;
        connection.onData((chunk) => record(`h1 from ${peer} ${chunk.toString()}`));
        connection.onClose((reason) => record(`h1 lost ${peer} ${reason}`));
      });
      return;
    }
    let connection: StreamConnection;
    try {
      connection = await host.network.connect({ address: '10.0.0.1', port: 50000 }, 500);
    } catch (error) {
      record(`${id} connect failed ${(error as { code?: string }).code}`);
      return;
    }
    record(`${id} connected`);
    connection.onClose((reason) => record(`${id} closed ${reason}`));
    let line = 0;
    const speak = (): void => {
      connection.write(Buffer.from(`<${id} line ${line++}>`));
      host.clock.setTimeout(speak, 15 + jitter.next() * 15);
    };
    speak();
  });

  scheduler.at(300, () => network.partition([['h1', 'h2'], ['h3', 'h4']]));
  scheduler.at(600, () => network.heal());
  scheduler.at(700, () => network.crash('h4'));
  scheduler.at(800, () => network.freeze('h2'));
  scheduler.at(900, () => network.thaw('h2'));
  await scheduler.runUntil(1200);
  await Promise.all(runs);
  return trace;
}

t.test('the same seed replays the identical (time, event) trace; another seed does not', async (t) => {
  const first = await scenario(42);
  const second = await scenario(42);
  const other = await scenario(43);
  t.ok(first.length > 500, `a busy trace (${first.length} records)`);
  t.ok(first.some((line) => line.includes('closed reset') || line.includes('lost 10.0.0.4')), 'the crash shows');
  t.same(second, first, 'seed 42 twice: identical');
  t.notSame(other, first, 'seed 43: a different run');
});
