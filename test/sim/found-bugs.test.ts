// Minimal reproductions of bugs the simulator found, kept as regression
// tests. Each one names the seed or script that found it.
import t, { type Test } from 'tap';
import type { SimResult } from '../../sim/run.ts';
import { eventsOf, hostWithMembers, simulate, violationLines } from './helpers.ts';

/** The random-plan run that found a bug, which now passes. */
async function replayPasses(
  t: Test,
  run: { seed: number; nodes: number; channels: number; durationMs: number; chatPerSecond?: number; churnPerSecond?: number; privateChannels?: number; pduIntervalMs?: number; settleMs?: number; membersPerChannel?: number; historyLimit?: number },
): Promise<SimResult> {
  const result = await simulate({ ...run, faults: 'random', keepLog: false });
  t.same(violationLines(result), [], 'no violations');
  return result;
}

t.test('msgIds stay unique when a member leaves a channel and joins it again (found by random seeds 6 and 8)', async (t) => {
  // The member machine numbers its messages from 1 in every membership; with
  // the incarnation alone as the prefix, the second membership reused the
  // first one's msgIds. The host's de-duplication window took the new
  // message for a re-sent old one: it was never delivered, and the author's
  // outbox was settled by the echo of the OLD message.
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('3s', (c) => c.say('n2', '#c0', 'first membership'));
      at('4s', (c) => c.exit('n2', '#c0'));
      at('6s', (c) => c.join('n2', '#c0'));
      at('8s', (c) => c.say('n2', '#c0', 'second membership'));
    },
  });
  t.same(violationLines(result), [], 'no violations');
  t.equal(result.delivery.acknowledged, 2, 'both messages acknowledged');
  t.equal(result.delivery.delivered, 4, 'each delivered to n1 and n3');
});

t.test("after a split brain the loser's members relay what the winner lacks, even when the winner's history is full (found by random seed 35)", async (t) => {
  // n1 hosts #c0; n1 and n4 are cut off from n2 and n3, which fail over to
  // n2 (epoch 2) and fill its history (120 messages > historyLimit 100).
  // n4 says something on n1's side. After the heal n1 yields and its members
  // join n2. A member merged the WELCOME history into its own bounded
  // history BEFORE computing what to relay, so a full WELCOME evicted its
  // own messages and nothing was relayed: n2 and n3 never got n4's.
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3', 'n4']);
      at('3s', (c) => c.partition([['n1', 'n4'], ['n2', 'n3']]));
      at('6s', (c) => c.say('n4', '#c0', 'from the minority'));
      for (let i = 0; i < 120; i++) at(5000 + i * 50, (c) => c.say(`n${2 + (i % 2)}`, '#c0', `majority ${i}`));
      at('12s', (c) => c.heal());
    },
  });
  t.same(violationLines(result), [], "no violations: the minority's message reached n2 and n3");
  t.equal(result.delivery.missing, 0);
});

t.test('a MOVED naming a host this member has not rediscovered yet is waited for, not failed over from (found by random seed 1)', async (t) => {
  // After a heal the loser host hears the winner's PDU and sends MOVED over
  // TCP; the member gets it before its own copy of that PDU (or still has
  // the winner removed from the partition). Failing the connect at once made
  // it fail over to the loser's standbys with epoch + 1: a second takeover
  // and a second split brain after every heal.
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3', 'n4']);
      at('3s', (c) => c.partition([['n1', 'n4'], ['n2', 'n3']]));
      at('6s', (c) => c.say('n4', '#c0', 'minority'));
      at('7s', (c) => c.say('n3', '#c0', 'majority'));
      at('12s', (c) => c.heal());
    },
  });
  t.same(violationLines(result), []);
  t.same(
    eventsOf(result, 'takeover').map((e) => `${e.node}@${e.epoch}`),
    ['n2@2'],
    'one takeover: the first standby, during the partition',
  );
  t.same(
    eventsOf(result, 'splitbrain.resolved').map((e) => `${e.loser}->${e.winner}`),
    ['n1->n2'],
    'one split brain, resolved once',
  );
});

// F2, fixed in machines/channel-member.ts (candidate): a member that restarts
// during a one-way cut could not reach the host, failed over to itself and
// hosted the channel at epoch + 1 with an empty history; its higher epoch
// won the split brain at the heal, and the loser's members' relays then
// evicted the winner's own newer messages from its bounded history (F5). A
// member never welcomed in this membership may now host only once the host
// is declared disconnected.
t.test('a restarted member cut off from the host waits instead of hosting an empty channel at a higher epoch (F2; its relay flood caused F5)', async (t) => {
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3', 'n4']);
      for (let i = 0; i < 110; i++) at(3000 + i * 40, (c) => c.say(`n${1 + (i % 3)}`, '#c0', `before ${i}`));
      at('8s', (c) => c.crash('n4'));
      at('9s', (c) => c.partitionOneWay(['n4'], ['n1', 'n2', 'n3']));
      at('9500ms', (c) => c.restart('n4'));
      at('12s', (c) => c.say('n4', '#c0', 'said by the newcomer'));
      at('14s', (c) => c.heal());
    },
  });
  t.same(
    eventsOf(result, 'takeover').map((e) => e.node),
    [],
    'nobody takes over: the host never died',
  );
  t.same(violationLines(result), [], "and every member gets n4's message");
});

// F4, fixed in machines/channel-member.ts and channel-host.ts. Per-author
// order across a split-brain merge: members relay what the
// new host lacks from their own bounded histories; a member whose history
// lost an author's older message (evicted by an earlier WELCOME merge)
// relays only the newer one, and another member's relay of the older one
// arrives after it: the new host orders them the other way round. Now a
// member's history mirrors its host's (WELCOME replaces it), RELAY carries
// the seq the message had, the host merges relays in a window sorted by that
// seq, and a takeover host starts from its member's de-duplication window.
t.test("relays from several members keep one author's order (F4, found by seed 11, 6 nodes, 40 s)", async (t) => {
  await replayPasses(t, { seed: 11, nodes: 6, channels: 2, durationMs: 40_000 });
});

// F7, fixed in machines/channel-member.ts (`candidate`). F2 let a member
// that was never welcomed host once the host is declared disconnected; the
// standby, which holds the history, declares it at the same moment. Both
// took over at epoch 2, the lower id (the newcomer) won, the standby's
// members relayed the whole history into the empty winner, and its bounded
// history pushed out the newcomer's own acknowledged message before the old
// host came back and joined: the old host never got it. Now the newcomer
// first waits one retry period, and the standby's announcement redirects it.
t.test("a newcomer does not take over at the standby's epoch when the host freezes (F7, found by 10-node seed 96, 2 min)", async (t) => {
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      at('1s', (c) => c.join('n3', '#c0'));
      at('2s', (c) => c.join('n4', '#c0'));
      for (let i = 0; i < 120; i++) at(3000 + i * 40, (c) => c.say(i % 2 ? 'n3' : 'n4', '#c0', `before ${i}`));
      at('9s', (c) => c.freeze('n3'));
      at('9100ms', (c) => c.join('n2', '#c0'));
      at('9200ms', (c) => c.say('n2', '#c0', 'from the newcomer'));
      at('14s', (c) => c.thaw('n3'));
    },
  });
  t.same(
    eventsOf(result, 'takeover').map((e) => [e.node, e.epoch, e.history]),
    [['n4', 2, 100]],
    'only the standby takes over',
  );
  t.same(violationLines(result), [], "every member, the old host included, gets the newcomer's message");
});

// F9, fixed in machines/history.ts (appendToHostHistory). A 14 s
// partition, about 70 messages on each side: after the heal the winner
// merged the other side's relays into its bounded history, and they pushed
// out its own side's older messages. A member of the other side that was
// frozen during the merge joined afterwards and never got them. A host's
// history now keeps `history` said messages plus up to as many relays.
t.test("a merge's relays do not push the winner's own messages out of its history (F9, found by seed 84, 6 nodes, 40 s)", async (t) => {
  await replayPasses(t, { seed: 84, nodes: 6, channels: 2, durationMs: 40_000 });
});

// F10, fixed in machines/channel-host.ts (the WELCOME in author order; the
// joiner keeps it in host order, history.ts inHostOrder). A member frozen
// through a partition and two merges joined the winner and got one
// author's message before 13 of the author's older ones, which a later
// merge had relayed in behind it in the host's history.
t.test("a joiner gets each author's messages in order although a merge relayed older ones behind a newer one (F10, found by seed 109, 10 nodes, 2 min)", async (t) => {
  await replayPasses(t, { seed: 109, nodes: 10, channels: 3, durationMs: 120_000 });
});

// F12, fixed in machines/history.ts (appendToHistory and mirrorLive: a
// member keeps its host's window by its host's rule; the host marks merged
// relays in its SAY frames). A node cut off with one member hosted its side
// alone; at the heal a merge relayed the other side's messages into it, and
// its members, whose windows held `--history` messages while the host kept
// as many said plus as many relayed, lost their own side's. The host then
// yielded to a third one: nobody relayed them. Seed 6 (a two-node side),
// seed 39 (a one-node side), 5x chat. test/machines/history-window.test.ts
// checks the rule itself.
t.test("a member keeps its host's window, so its side's messages outlive a merge into its host (F12, found by seeds 6 and 39, 10 nodes, 2 min, --rate 50)", async (t) => {
  await replayPasses(t, { seed: 6, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
  await replayPasses(t, { seed: 39, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
});

// F13, fixed in machines/rules.ts and lib/node/node.ts (every JOIN is answered). Members
// failing over from a frozen host JOINed its first standby while that
// standby was leaving the channel (its EXIT unanswered by the frozen host):
// PROMOTE does nothing to a leaving member, the JOIN was dropped, and the
// joiner, after its WELCOME timeout, took the standby for a legacy host and
// stayed "joined" to a channel nobody hosted. Found by seed 89 of the
// 10-node campaign with a private channel (`--private 1`).
t.test('a JOIN to a standby that is leaving the channel is answered by closing the connection, not dropped (F13, found by seed 89, 10 nodes, --private 1)', async (t) => {
  const result = await simulate({
    nodes: 4,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3', 'n4']);
      for (let i = 0; i < 20; i++) at(4000 + i * 500, (c) => c.say(i % 2 ? 'n3' : 'n4', '#c0', `m${i}`));
      at('8s', (c) => c.freeze('n1'));
      at('8600ms', (c) => c.exit('n2', '#c0')); // n2 is the first standby; its EXIT goes to the frozen host
      at('14s', (c) => c.thaw('n1'));
    },
  });
  t.same(violationLines(result), [], 'one host, n3 and n4 joined to it, every message delivered');
});

// F14, fixed in machines/history.ts (relayShare: a history keeps two other
// sides' windows of relays). A host that had merged one other side yielded
// to a third; the merges together brought 103 relays into a relay share of
// 100, and the oldest three (one side's) left every history before a member
// frozen through it rejoined. Found by seed 13 of the 5x-chat campaign.
t.test('a three-way merge keeps both other sides\' relays (F14, found by seed 13, 10 nodes, 2 min, --rate 50)', async (t) => {
  await replayPasses(t, { seed: 13, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
});

// Not a protocol bug: the delivery check required an order no protocol can
// give (sim/check-delivery.ts checkOrder, a late repair). A member frozen
// through a one-way partition of its host moved to the other side, whose
// window had dropped a message it missed, and got that message after the
// heal from the host that had kept it, behind newer ones.
// Since the ninth session's takeover hold (F17) the seed's run takes
// another path and repairs nothing late; the checker tests script the rule.
t.test('a message repaired late, from the host that kept it, behind newer ones another host gave, is no order violation (seed 99, 10 nodes, 2 min, --rate 50)', async (t) => {
  const result = await simulate({ seed: 99, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50, faults: 'random', keepLog: false });
  t.same(violationLines(result), [], 'no violations');
});

// F15, fixed in machines/channel-host.ts (a takeover keeps its member's
// pending relays as relays). They became said messages of the takeover
// host and pushed its side's own out of the window; the winner of the next
// heal never got those. Found by seed 196 of the 5x-chat campaign.
t.test("a takeover's pending relays stay relays (F15, found by seed 196, 10 nodes, 2 min, --rate 50)", async (t) => {
  await replayPasses(t, { seed: 196, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
});

// The delivery check's, not the protocol's (sim/check-delivery.ts): a
// frozen holder counted as one that could repair (seed 167), and a member
// cut off again before its rejoin after a heal was not disturbed any more
// (seed 132). Both runs lose those messages to the bounded history.
t.test('a frozen holder repairs nothing, and a repair cut short continues the disturbance (seeds 167 and 132, 10 nodes, 2 min, --rate 50)', async (t) => {
  await replayPasses(t, { seed: 167, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
  await replayPasses(t, { seed: 132, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 50 });
});

// The check again: a standby promoted by a JOIN during a loss burst left
// its host without suspecting it, and was not counted as split off.
t.test('a member that leaves its host in a loss burst because it was promoted is split off like one that suspected it (seed 23, 10 nodes, 2 min, --rate 100)', async (t) => {
  await replayPasses(t, { seed: 23, nodes: 10, channels: 3, durationMs: 120_000, chatPerSecond: 100 });
});

// The check once more: the acknowledging host, whose user had left, was
// taken to hold a message as long as its node lived, although it had closed
// the channel. Its side of a partition (the host and one member) was alone
// in it; the member left just after the heal, before the split brain was
// seen, and the host closed the now empty channel: what that member had said
// on its side was nowhere any more. docs/protocol.md 5.5 names the case; a
// checker test (checkers.test.ts) scripts it, as the ninth session's
// takeover hold changed this seed's run (its 4 messages are now lost with
// their host's crash).
t.test('a host that closed the channel holds none of its messages any more (seed 7, 10 nodes, 2 min, --churn 2 --private 1)', async (t) => {
  const result = await replayPasses(t, { seed: 7, nodes: 10, channels: 3, durationMs: 120_000, churnPerSecond: 2, privateChannels: 1 });
  t.ok(result.lostReasons.every((r) => r.includes('every holder is gone')), 'what is lost is lost with every holder');
});

t.test('a newcomer orphaned by a live host that closed the channel creates it again (F16, found by seed 35, 10 nodes, 4 min, --pdu-interval 1000 --churn 1)', async (t) => {
  const result = await replayPasses(t, { seed: 35, nodes: 10, channels: 3, durationMs: 240_000, pduIntervalMs: 1000, settleMs: 40_000, churnPerSecond: 1 });
  t.same(result.hosting.filter((h) => h.channel === '#c2').map((h) => h.host !== undefined), [true], '#c2 has a host at the end');
});

// F17, fixed in machines/channel-host.ts (hosting.starting: a takeover host
// holds what it is sent for one relay window). Its members came back within
// 10 ms, each re-sending its outbox: 11 re-sends against a history of 10,
// and the member that rejoined 4 ms after them never got the first. Found
// by seeds 3, 21 and 62 of 100 with --history 10 --rate 50.
// F18 (MERGED) showed in seed 167 of the 5x-chat campaign, replayed above.
t.test('a burst of re-sends after a takeover reaches every returning member (F17, found by seeds 3, 21, 62, 8 nodes, 2 min, --history 10 --rate 50)', async (t) => {
  for (const seed of [3, 21, 62]) {
    await replayPasses(t, { seed, nodes: 8, channels: 3, durationMs: 120_000, chatPerSecond: 50, membersPerChannel: 4, historyLimit: 10 });
  }
});

// F19, fixed in machines/channel-host.ts (accept: SEEN) and
// machines/channel-member.ts. An author away while others relayed its
// messages into a host re-sent them when it came back; the host had seen
// them, but they had left its history, so it gave no echo, and the author
// kept them in its outbox for good. 61 s later a host whose de-duplication
// window had forgotten them took them for new: every member got them twice.
t.test('an author whose re-sent message the host has seen but no longer holds is answered SEEN, and nobody gets it twice (F19, found by seed 181, 8 nodes, 2 min, --history 10 --rate 50)', async (t) => {
  await replayPasses(t, { seed: 181, nodes: 8, channels: 3, durationMs: 120_000, chatPerSecond: 50, membersPerChannel: 4, historyLimit: 10 });
});

/**
 * n2's SAY reaches n1 and the others, but n1's echo does not reach n2 (a
 * one-way cut), so the message stays in n2's outbox; n2 is then cut off
 * alone, takes the channel over and accepts the message from its own
 * outbox. The others say 1,100 more, past their 1,024-key windows (with
 * `hostCrashes`, n1 crashes first and n3 takes over on their side). At
 * the heal n2's side wins the split brain, and its WELCOME carries the
 * message again.
 */
async function authorBackAfterTheWindow(t: Test, hostCrashes: boolean): Promise<void> {
  const others = hostCrashes ? ['n3', 'n4'] : ['n1', 'n3'];
  const shown: string[] = [];
  const result = await simulate({
    nodes: hostCrashes ? 4 : 3,
    durationMs: 60_000,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', hostCrashes ? ['n2', 'n3', 'n4'] : ['n2', 'n3']);
      at('4s', (c) => {
        for (const id of others) c.node(id)!.node.on('chat', (line: { text: string }) => line.text === 'away' && shown.push(id));
      });
      at('5s', (c) => c.partitionOneWay(['n1'], ['n2']));
      at('5001ms', (c) => c.say('n2', '#c0', 'away'));
      at('5100ms', (c) => c.partition([['n2'], hostCrashes ? ['n1', 'n3', 'n4'] : ['n1', 'n3']]));
      if (hostCrashes) at('6s', (c) => c.crash('n1'));
      for (let i = 0; i < 1100; i++) at(`${8000 + i * 20}ms`, (c) => c.say(others[i % 2]!, '#c0', `busy ${i}`));
      at('36s', (c) => c.heal());
    },
  });
  t.same(violationLines(result), [], 'no violations');
  t.same(shown.sort(), others, 'each shows it once');
  t.ok(eventsOf(result, 'splitbrain.resolved', (r) => r.winner === 'n2').length > 0, "the author's side won the split brain: its WELCOME carried the message");
  t.equal(result.delivery.duplicated, 0);
}

t.test('an author back after more than a de-duplication window, whose message its own takeover accepted, gets it to nobody twice (F20, found by a script, fourteenth session)', async (t) => {
  // The windows had forgotten the message, and every other member showed
  // it twice. Now each keeps the runs of n2's counters it saw, which know
  // it however long ago; a takeover host inherits them with the keys.
  await t.test('the host stays', (t) => authorBackAfterTheWindow(t, false));
  await t.test('the host crashes and a member takes over', (t) => authorBackAfterTheWindow(t, true));
});
