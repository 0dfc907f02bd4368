// Addresses for the namespaces: keep the compose file's when they are safe
// on this machine, else a fallback subnet with the same host numbers.
import { type Cidr, type ComposeProject, cidrContains, cidrsOverlap, formatCidr, intToIp, ipToInt, isPrivateCidr, parseCidr } from '../compose.ts';
import { ClusterError, run } from './shell.ts';

/** Used when the compose file's subnet is not safe on this machine. */
export const FALLBACK_SUBNETS = ['10.213.77.0/24', '172.31.213.0/24', '192.168.213.0/24'];

/** Every IPv4 prefix the host's own namespace routes or owns, except default. */
export function hostPrefixes(): Cidr[] {
  const prefixes: Cidr[] = [];
  const routes = run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], true);
  if (routes.ok) {
    for (const route of JSON.parse(routes.stdout || '[]') as Array<{ dst?: string }>) {
      if (!route.dst || route.dst === 'default') continue;
      try {
        prefixes.push(parseCidr(route.dst));
      } catch {
        // multicast/broadcast keywords and the like: not an address range
      }
    }
  }
  const addrs = run('ip', ['-j', '-4', 'addr', 'show'], true);
  if (addrs.ok) {
    for (const link of JSON.parse(addrs.stdout || '[]') as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>) {
      for (const a of link.addr_info ?? []) {
        if (a.local && a.prefixlen !== undefined) prefixes.push(parseCidr(`${a.local}/${a.prefixlen}`));
      }
    }
  }
  return prefixes;
}

export interface AddressPlan {
  subnet: Cidr;
  addresses: Map<string, string>;
  remapped: boolean;
  /** Why the compose file's subnet was not used, when it was not. */
  reason?: string;
}

export function subnetProblem(subnet: Cidr, hostRanges: Cidr[]): string | undefined {
  if (!isPrivateCidr(subnet)) return `${formatCidr(subnet)} is not in a private (RFC 1918) range`;
  if (subnet.prefix < 16 || subnet.prefix > 29) return `${formatCidr(subnet)}: use a /16 to /29`;
  const clash = hostRanges.find((r) => cidrsOverlap(r, subnet));
  if (clash) return `${formatCidr(subnet)} overlaps ${formatCidr(clash)}, which this machine already uses`;
  return undefined;
}

/**
 * Addresses for the namespaces: the compose file's subnet and ipv4_address
 * values when that subnet is private and unused on this machine, else the
 * first safe fallback /24 with the same host numbers.
 */
export function planAddresses(project: ComposeProject, hostRanges: Cidr[], forcedSubnet?: string): AddressPlan {
  const services = project.services;
  const networkName = services[0]?.network;
  const network = project.networks.find((n) => n.name === networkName) ?? project.networks[0];
  let subnet: Cidr | undefined;
  let remapped = false;
  let reason: string | undefined;
  if (forcedSubnet) {
    subnet = parseCidr(forcedSubnet);
    const problem = subnetProblem(subnet, hostRanges);
    if (problem) throw new ClusterError(`--subnet: ${problem}`);
    remapped = network?.subnet !== undefined && formatCidr(parseCidr(network.subnet)) !== formatCidr(subnet);
  } else {
    const composeSubnet = network?.subnet ? parseCidr(network.subnet) : undefined;
    reason = composeSubnet ? subnetProblem(composeSubnet, hostRanges) : 'the compose file gives no subnet';
    if (composeSubnet && !reason) {
      subnet = composeSubnet;
    } else {
      remapped = true;
      subnet = FALLBACK_SUBNETS.map(parseCidr).find((c) => !subnetProblem(c, hostRanges));
      if (!subnet) throw new ClusterError(`no safe subnet: ${reason}; and every fallback (${FALLBACK_SUBNETS.join(', ')}) is in use here. Pass --subnet`);
    }
  }
  const size = 2 ** (32 - subnet.prefix);
  const addresses = new Map<string, string>();
  const used = new Set<number>([subnet.network, subnet.network + 1, subnet.network + size - 1]);
  const original = network?.subnet ? parseCidr(network.subnet) : undefined;
  // First the services whose (mapped) compose address is usable, then the rest.
  for (const svc of services) {
    if (!svc.ipv4Address) continue;
    let n = ipToInt(svc.ipv4Address);
    if (remapped && original && cidrContains(original, n)) n = subnet.network + ((n - original.network) % size);
    if (cidrContains(subnet, n) && !used.has(n)) {
      used.add(n);
      addresses.set(svc.name, intToIp(n));
    }
  }
  let next = subnet.network + 11;
  for (const svc of services) {
    if (addresses.has(svc.name)) continue;
    while (used.has(next)) next++;
    if (next >= subnet.network + size - 1) throw new ClusterError(`${formatCidr(subnet)} has no room for ${services.length} services`);
    used.add(next);
    addresses.set(svc.name, intToIp(next));
  }
  const plan: AddressPlan = { subnet, addresses, remapped };
  if (reason && remapped) plan.reason = reason;
  return plan;
}
