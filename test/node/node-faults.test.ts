// A bug in carrying out one channel's effect is a fault of that channel's
// actor, not the end of the process: the node serves its other channels on.
// (XState rethrows an emit handler's exception from a timer, where nothing
// caught it: until 7 December 2026 one frame that failed to encode, a
// MEMBERS of 513 ids or a SAY at seq 2^53, ended every channel of a node.)
import pino from 'pino';
import t from 'tap';
import type { Network, StreamConnection, StreamListener } from '../../lib/net/transport.ts';
import { ChanmeshNode } from '../../lib/node/node.ts';
import { SeededRandom } from '../../lib/random.ts';
import { FrameDecoder, encodeFrame, splitFields } from '../../lib/wire/frame.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

/** A member connection to the node: what it was sent, as field lists. */
function memberStream(port: number) {
  let data: (chunk: Buffer) => void = () => {};
  const decoder = new FrameDecoder();
  const frames: string[][] = [];
  const stream: StreamConnection = {
    remote: { address: '192.0.2.5', port },
    write: (chunk) => {
      for (const body of decoder.push(chunk)) frames.push(splitFields(body));
      return true;
    },
    bufferedBytes: 0,
    onData: (h) => void (data = h),
    onDrain: () => {},
    onClose: () => {},
    end: () => {},
    destroy: () => {},
  };
  return { stream, frames, say: (fields: string[]) => data(encodeFrame(fields)) };
}

t.test("an exception in one channel's effect is that host actor's fault; the node serves another channel on", async (t) => {
  let accept: (c: StreamConnection) => void = () => {};
  const network: Network = {
    joinGroup: async () => ({ send: () => {}, onDatagram: () => {}, close: () => {} }),
    listen: async (): Promise<StreamListener> => ({ port: 50000, onConnection: (h) => void (accept = h), close: () => {} }),
    connect: async (): Promise<StreamConnection> => {
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    },
  };
  // The bug, planted where a host's effect is carried out: logging that
  // #a has a new member throws (as an encoder's bound or a broken log
  // destination would).
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, {
    write: (s: string) => {
      const line = JSON.parse(s) as Record<string, unknown>;
      if (line.event === 'channel.member_joined' && line.channel === '#a') throw new Error('a bug in an effect');
      lines.push(line);
    },
  });
  const clock = new ManualClock();
  const node = new ChanmeshNode({ id: 'n1' }, { network, clock, random: new SeededRandom(1), log, incarnation: 1 });
  const faults: Error[] = [];
  node.on('fault', (e) => faults.push(e));
  await node.start();
  t.teardown(() => node.stop());

  const broken = memberStream(4001);
  accept(broken.stream);
  broken.say(['JOIN', '#a', 'm1']);
  clock.advance(10);
  t.equal(faults.length, 1, 'one fault');
  t.match(faults[0]?.message, /a bug in an effect/);
  t.ok(lines.some((l) => l.event === 'node.fault' && l.actor === 'host #a'), 'logged as the fault of host #a');

  const healthy = memberStream(4002);
  accept(healthy.stream);
  healthy.say(['JOIN', '#b', 'm2']);
  clock.advance(10);
  await new Promise((r) => setImmediate(r)); // writes go out in a microtask (ConnectionWriter)
  t.same(healthy.frames[0]?.slice(0, 2), ['WELCOME', '#b'], 'another channel is still served');
  t.equal(faults.length, 1, 'and no other fault');
});
