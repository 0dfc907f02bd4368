// The named fault scenarios (sim/scenarios.ts) against real nodes in the
// simulator: each one must keep every invariant and show the protocol's
// expected reaction in the nodes' own log lines.
import t from 'tap';
import type { LogRecord } from '../../sim/event-log.ts';
import { eventsOf, records, scenario, violationLines } from './helpers.ts';
import type { SimResult } from '../../sim/run.ts';

/** The sim's own line for a fault (who was crashed, frozen, cut off). */
function simEvent(result: SimResult, event: string): LogRecord {
  const found = records(result).find((r) => r.node === 'sim' && r.event === event);
  if (!found) throw new Error(`no ${event} in the log`);
  return found;
}

/** The host's last standby ranking for #c0 before `vt`. */
function standbysBefore(result: SimResult, host: string, vt: number): string[] {
  const chosen = eventsOf(result, 'standby.chosen', (r) => r.node === host && r.channel === '#c0' && r.vt < vt);
  return (chosen.at(-1)?.standbys as string[] | undefined) ?? [];
}

t.test('host crash: the first standby takes over with epoch + 1, every member follows, chat goes on', async (t) => {
  const result = await scenario('host-crash');
  t.same(violationLines(result), [], 'every invariant holds');
  const crash = simEvent(result, 'sim.crash');
  const victim = String(crash.target);
  const [first] = standbysBefore(result, victim, crash.vt);
  const takeovers = eventsOf(result, 'takeover');
  t.equal(takeovers.length, 1, 'one takeover');
  t.equal(takeovers[0]?.node, first, `the first standby (${first}) took over`);
  t.equal(takeovers[0]?.previousHost, victim);
  const finished = eventsOf(result, 'failover.finished', (r) => r.vt > crash.vt);
  t.ok(finished.length >= 2, `${finished.length} members finished their failover`);
  t.ok(finished.every((r) => r.host === first), 'all to the new host');
  const said = eventsOf(result, 'sim.say', (r) => r.vt > crash.vt && r.vt < crash.vt + 5000);
  t.ok(said.length > 10, `members kept chatting through the failover (${said.length} says)`);
  t.equal(result.delivery.unacknowledged, 0);
  t.equal(result.delivery.missing, 0);
});

t.test('host freeze and wake: failover by the liveness timer, then the woken host yields (split brain resolved)', async (t) => {
  const result = await scenario('host-freeze');
  t.same(violationLines(result), [], 'every invariant holds');
  const freeze = simEvent(result, 'sim.freeze');
  const thaw = simEvent(result, 'sim.thaw');
  const frozen = String(freeze.target);
  const suspected = eventsOf(result, 'host.suspected', (r) => r.host === frozen && r.vt > freeze.vt);
  t.ok(suspected.length > 0 && suspected.every((r) => r.via === 'liveness'), 'a frozen host is found by the timer path');
  const detection = suspected[0]!.vt - freeze.vt;
  t.ok(detection >= 700 && detection <= 1300, `detected after ${detection.toFixed(0)} ms (4 x 250 ms minus jitter)`);
  const takeover = eventsOf(result, 'takeover')[0];
  t.equal(takeover?.previousHost, frozen);
  t.ok(takeover!.vt < thaw.vt, 'the standby took over while the host slept');
  const resolved = eventsOf(result, 'splitbrain.resolved', (r) => r.vt >= thaw.vt);
  t.equal(resolved.length, 1, 'one split brain, resolved once');
  t.equal(resolved[0]?.loser, frozen, 'the woken host yields');
  t.equal(resolved[0]?.winner, takeover?.node);
  t.same(result.hosting.map((h) => `${h.channel}:${h.host}`), [`#c0:${takeover?.node}`], 'one host in the end');
});

t.test('crash of the host and its first standby at once: the second standby takes over', async (t) => {
  const result = await scenario('host-and-standby-crash');
  t.same(violationLines(result), [], 'every invariant holds');
  const crashes = records(result).filter((r) => r.event === 'sim.crash');
  t.equal(crashes.length, 2, 'two crashes at one instant');
  const host = String(crashes[0]!.target);
  const [first, second] = standbysBefore(result, host, crashes[0]!.vt);
  t.equal(crashes[1]?.target, first, 'the second victim is the first standby');
  const takeovers = eventsOf(result, 'takeover');
  t.equal(takeovers.length, 1);
  t.equal(takeovers[0]?.node, second, `the second standby (${second}) took over`);
  t.ok(eventsOf(result, 'failover.finished', (r) => r.host === second).length >= 1, 'members followed it');
});

t.test('crash of the host and both its standbys at once: the lowest-id member left takes over; the channel lives on (docs/protocol.md 5.4)', async (t) => {
  const result = await scenario('host-and-standbys-crash');
  t.same(violationLines(result), [], 'every invariant holds');
  const crashes = records(result).filter((r) => r.event === 'sim.crash');
  const host = String(crashes[0]!.target);
  const standbys = standbysBefore(result, host, crashes[0]!.vt);
  t.equal(standbys.length, 2, 'the host had two standbys');
  t.same(crashes.map((r) => r.target), [host, ...standbys], 'the host and both standbys crashed at one instant');
  const dead = new Set(crashes.map((r) => String(r.target)));
  const survivors = [...new Set(eventsOf(result, 'member.joined', (r) => r.channel === '#c0').map((r) => String(r.node)))].filter((id) => !dead.has(id)).sort();
  t.ok(survivors.length >= 2, `members survived (${survivors.join(', ')})`);
  const takeovers = eventsOf(result, 'takeover');
  t.same(takeovers.map((r) => `${String(r.node)}@${String(r.epoch)}`), [`${survivors[0]}@2`], `the lowest-id survivor (${survivors[0]}) took over at epoch 2`);
  const followed = eventsOf(result, 'failover.finished', (r) => r.vt > crashes[0]!.vt).map((r) => `${String(r.node)}->${String(r.host)}`).sort();
  t.same(followed, survivors.map((id) => `${id}->${survivors[0]}`), 'every survivor ended its failover with it');
  t.same(result.hosting.map((h) => `${h.channel}:${h.host}`), [`#c0:${survivors[0]}`], 'one host in the end');
  t.equal(result.delivery.missing, 0, 'nothing acknowledged was lost');
});

t.test('partition and heal: the cut-off host keeps its side, the majority fails over, the heal leaves one host', async (t) => {
  const result = await scenario('partition-heal');
  t.same(violationLines(result), [], 'every invariant holds');
  const cut = simEvent(result, 'sim.partition');
  const heal = simEvent(result, 'sim.heal');
  const [minority] = cut.groups as string[][];
  const takeover = eventsOf(result, 'takeover', (r) => r.vt > cut.vt && r.vt < heal.vt)[0];
  t.ok(takeover && !minority!.includes(takeover.node), `the majority side took over (${takeover?.node})`);
  const resolved = eventsOf(result, 'splitbrain.resolved', (r) => r.vt >= heal.vt);
  t.equal(resolved.length, 1, 'one split brain after the heal, resolved once');
  t.ok(minority!.includes(String(resolved[0]?.loser)), 'the minority host yields to the higher epoch');
  t.equal(result.metrics.takeovers, 1, 'no further takeovers after the heal');
  t.same(result.hosting.map((h) => h.host), [takeover?.node], 'one host in the end');
  t.equal(result.delivery.missing, 0, "the minority's messages were relayed to the majority");
});

t.test('restart with a new incarnation: peers see the restart, the node rejoins under the new host', async (t) => {
  const result = await scenario('host-restart');
  t.same(violationLines(result), [], 'every invariant holds');
  const crash = simEvent(result, 'sim.crash');
  const restart = simEvent(result, 'sim.restart');
  const id = String(crash.target);
  t.ok(Number(restart.incarnation) > Number(crash.incarnation), 'a higher incarnation');
  const takeover = eventsOf(result, 'takeover')[0];
  t.ok(takeover, 'a standby took over while it was down');
  const restarted = eventsOf(result, 'peer.restarted', (r) => r.peer === id);
  const rediscovered = eventsOf(result, 'peer.discovered', (r) => r.peer === id && r.vt > restart.vt);
  t.ok(restarted.length + rediscovered.length >= 3, 'the others learned of the new incarnation');
  t.ok(rediscovered.every((r) => r.incarnation === restart.incarnation), 'they know it by its new incarnation');
  const rejoined = eventsOf(result, 'member.joined', (r) => r.node === id && r.vt > restart.vt && r.channel === '#c0');
  t.equal(rejoined.length, 1, 'it rejoined #c0 once');
  t.equal(rejoined[0]?.host, takeover?.node, 'under the new host');
  t.equal(rejoined[0]?.epoch, takeover?.epoch);
});

t.test('one-way cut and loss storms keep the invariants', async (t) => {
  for (const name of ['one-way-host', 'loss-storm']) {
    const result = await scenario(name);
    t.same(violationLines(result), [], `${name}: every invariant holds`);
  }
});

// Found by the design review of 8 December 2026 (docs/simulator-findings.md
// F21 to F23); each failed on the seeds below before its fix.
t.test('crash at release: a takeover host that dies as it releases its hold loses no acknowledged message (F21)', async (t) => {
  for (const seed of [2, 3, 4]) {
    const result = await scenario('crash-at-release', seed);
    t.same(violationLines(result), [], `seed ${seed}: every invariant holds`);
    t.ok(eventsOf(result, 'sim.trigger').length >= 1 && eventsOf(result, 'sim.crash').length === 1, `seed ${seed}: the new host crashed after its takeover`);
    t.equal(result.delivery.missing, 0, `seed ${seed}: nothing missing`);
  }
});

t.test('exit before its own JOIN: a channel nobody joins is not announced for good (F22)', async (t) => {
  for (const seed of [2, 3]) {
    const result = await scenario('exit-before-own-join', seed);
    t.same(violationLines(result), [], `seed ${seed}: every invariant holds`);
    t.ok(eventsOf(result, 'sim.exit').length === 1, `seed ${seed}: the creator's user left`);
    t.ok(eventsOf(result, 'channel.closed', (r) => r.reason === 'empty').length >= 1, `seed ${seed}: and its channel closed as empty`);
  }
});

t.test('exit after promote: the standby whose own JOIN finds no host takes over once more, not in a loop (F23)', async (t) => {
  for (const seed of [2, 7]) {
    const result = await scenario('exit-after-promote', seed);
    t.same(violationLines(result), [], `seed ${seed}: every invariant holds`);
    const takeovers = eventsOf(result, 'takeover').length;
    t.ok(takeovers <= 2, `seed ${seed}: ${takeovers} takeovers (11 and 9 before the fix)`);
  }
});
