// A small simulated world for the sim tests: one scheduler, one network,
// hosts h1..hN at 10.0.0.1..N.

import type { DatagramGroup, Endpoint, StreamConnection } from '../../lib/net/transport.ts';
import { SeededRandom } from '../../lib/random.ts';
import { SimNetwork, type LinkOptions, type SimHost } from '../../sim/network.ts';
import { Scheduler } from '../../sim/scheduler.ts';

export const GROUP: Endpoint = { address: '239.255.0.1', port: 5007 };

export interface World {
  scheduler: Scheduler;
  network: SimNetwork;
  hosts: SimHost[];
}

export function makeWorld(hostCount: number, options: LinkOptions = {}, seed = 1): World {
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, new SeededRandom(seed), options);
  const hosts: SimHost[] = [];
  for (let i = 1; i <= hostCount; i++) hosts.push(network.host(`h${i}`, `10.0.0.${i}`));
  return { scheduler, network, hosts };
}

/** A fixed one-way latency, so that RTTs are exact. */
export const FIXED_5MS: LinkOptions = { latencyMsMin: 5, latencyMsMean: 5, latencyMsMax: 5 };

export function host(world: World, index: number): SimHost {
  const found = world.hosts[index];
  if (found === undefined) throw new Error(`no host ${index}`);
  return found;
}

/** Every host joins GROUP; received datagrams are recorded per host as "sender-address:text". */
export async function joinAll(world: World): Promise<{ groups: DatagramGroup[]; received: string[][] }> {
  const groups: DatagramGroup[] = [];
  const received: string[][] = [];
  for (const simHost of world.hosts) {
    const group = await simHost.network.joinGroup({ group: GROUP });
    const inbox: string[] = [];
    group.onDatagram((datagram, from) => inbox.push(`${from.address}:${from.port}:${datagram.toString()}`));
    groups.push(group);
    received.push(inbox);
  }
  return { groups, received };
}

/** h[server] listens on 50000; h[client] connects; both ends returned once the client holds its end. */
export async function connectPair(
  world: World,
  client: number,
  server: number,
): Promise<{ client: StreamConnection; server: StreamConnection }> {
  const listener = await host(world, server).network.listen(50000);
  let serverEnd: StreamConnection | undefined;
  listener.onConnection((connection) => {
    serverEnd = connection;
  });
  const pending = host(world, client).network.connect({ address: host(world, server).address, port: 50000 }, 1000);
  await world.scheduler.runFor(100);
  const clientEnd = await pending;
  if (serverEnd === undefined) throw new Error('the server saw no connection');
  return { client: clientEnd, server: serverEnd };
}

/** Collects a stream's bytes and its close reason. */
export function collect(connection: StreamConnection): { bytes: () => Buffer; closed: () => string | undefined } {
  const chunks: Buffer[] = [];
  let reason: string | undefined;
  connection.onData((chunk) => chunks.push(chunk));
  connection.onClose((why) => {
    if (reason !== undefined) throw new Error('onClose fired twice');
    reason = why;
  });
  return { bytes: () => Buffer.concat(chunks), closed: () => reason };
}
