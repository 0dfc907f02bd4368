// The cluster's network: a hub namespace with a bridge, one veth pair per
// service, extra bridges for partitions.
import { parseCidr } from '../compose.ts';
import { ip, run } from './shell.ts';
import { type ClusterState } from './state.ts';

export function createNetwork(state: ClusterState): void {
  const { hub, bridge } = state;
  const prefixLen = parseCidr(state.subnet).prefix;
  ip('netns', 'add', hub);
  ip('-n', hub, 'link', 'set', 'lo', 'up');
  addBridge(hub, bridge);
  for (const svc of state.services) {
    ip('netns', 'add', svc.ns);
    // Both ends are created directly inside our namespaces: the host's own
    // namespace never sees an interface of ours.
    ip('link', 'add', svc.hubVeth, 'netns', hub, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', svc.ns);
    ip('-n', hub, 'link', 'set', svc.hubVeth, 'master', bridge);
    ip('-n', hub, 'link', 'set', svc.hubVeth, 'up');
    ip('-n', svc.ns, 'link', 'set', 'lo', 'up');
    ip('-n', svc.ns, 'addr', 'add', `${svc.address}/${prefixLen}`, 'dev', 'eth0');
    ip('-n', svc.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', svc.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
  }
}

export function addBridge(hub: string, name: string): void {
  // No IGMP snooping: without a querier on the bridge it would only add
  // timing-dependent behaviour; every port simply gets the group's frames.
  ip('-n', hub, 'link', 'add', name, 'type', 'bridge', 'mcast_snooping', '0');
  ip('-n', hub, 'link', 'set', name, 'up');
}

export function partitionBridges(state: ClusterState): string[] {
  const out = run('ip', ['-n', state.hub, '-j', 'link', 'show', 'type', 'bridge'], true);
  if (!out.ok) return [];
  const pattern = new RegExp(`^${state.prefix}br[1-9][0-9]*$`);
  return (JSON.parse(out.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => pattern.test(n));
}

export function healNetwork(state: ClusterState): void {
  for (const svc of state.services) ip('-n', state.hub, 'link', 'set', svc.hubVeth, 'master', state.bridge);
  for (const br of partitionBridges(state)) ip('-n', state.hub, 'link', 'del', br);
  state.partition = null;
}

/** Which bridge each service's veth is on now. */
export function bridgeOf(state: ClusterState): Map<string, string> {
  const map = new Map<string, string>();
  const out = run('ip', ['-n', state.hub, '-j', 'link', 'show'], true);
  if (!out.ok) return map;
  const links = JSON.parse(out.stdout || '[]') as Array<{ ifname: string; master?: string; operstate?: string }>;
  for (const svc of state.services) {
    const link = links.find((l) => l.ifname === svc.hubVeth);
    map.set(svc.name, link?.master ?? '-');
  }
  return map;
}
