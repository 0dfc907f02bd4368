// The checkers catch what they are meant to catch: each invariant is broken
// on purpose (a fake chat line, a fake log line, a fault, an exit at the
// very end) and must be reported with its time and nodes.
import t, { type Test } from 'tap';
import type { ChanmeshNode, ChatLine } from '../../lib/node/node.ts';
import { ExitCode } from '../../sim/violations.ts';
import type { SimOptions } from '../../sim/run.ts';
import { eventsOf, hostWithMembers, simulate, violationKinds } from './helpers.ts';

/** The node's 'chat' event is the user's screen: from now on it swallows the lines `swallowed` picks. */
function swallowChat(node: ChanmeshNode, swallowed: (line: ChatLine & { repair?: boolean }) => boolean): void {
  const emit = node.emit.bind(node) as (event: string, ...args: unknown[]) => boolean;
  (node as { emit: typeof emit }).emit = (event, ...args) => (event === 'chat' && swallowed(args[0] as ChatLine) ? false : emit(event, ...args));
}

/** The 12-node campaign of the ninth and thirteenth sessions: `--nodes 12 --channels 4 --history 10 --rate 60 --fault-gap 1s`, a fault a second. */
function hardest(seed: number, splitChunks = false): ReturnType<typeof simulate> {
  return simulate({ seed, nodes: 12, channels: 4, durationMs: 120_000, faults: 'random', chatPerSecond: 60, membersPerChannel: 4, historyLimit: 10, faultGapMs: 1000, splitChunks, keepLog: false });
}

/** A seed of that campaign passes, and the check still requires deliveries in it (it is no pass by excusing everything). */
async function hardestPasses(t: Test, seed: number, splitChunks = false, label = `seed ${seed}`): Promise<void> {
  const result = await hardest(seed, splitChunks);
  t.same(violationKinds(result), [], label);
  t.ok(result.delivery.required > 5000, `the check still requires deliveries (${result.delivery.required})`);
}

t.test('a clean scripted run passes', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('3s', (c) => c.say('n2', '#c0', 'hello'));
    },
  });
  t.equal(result.exitCode, ExitCode.pass);
  t.equal(result.delivery.required, 2, 'n1 and n3 had to get it');
  t.equal(result.delivery.delivered, 2);
});

t.test('delivery: a duplicate, and a message a member never shows', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('3s', (c) => c.say('n2', '#c0', 'twice'));
      // The node's 'chat' event is the user's screen: show the line again.
      at('4s', (c) => c.node('n3')!.node.emit('chat', { channel: '#c0', authorId: 'n2', text: 'twice', msgId: 'x', fromHistory: false, relayed: false, host: 'n1', epoch: 1 }));
      // n1's screen swallows one line.
      at('5s', (c) => {
        swallowChat(c.node('n1')!.node, (line) => line.text === 'swallowed');
        c.say('n3', '#c0', 'swallowed');
      });
    },
  });
  const kinds = violationKinds(result);
  t.same(kinds, ['delivery/duplicate@n3,n2', 'delivery/missing@n1,n3'], 'with who got it (or not), whose it was, and the acknowledging host (n1 itself, named once)');
  t.equal(result.violations[0]?.vt, 4000, 'a duplicate is reported at the virtual time it happened');
  t.equal(result.violations[1]?.vt, 30_000, 'a missing message at the end of the run');
  t.equal(result.delivery.duplicated, 1);
  t.equal(result.delivery.missing, 1);
  t.equal(result.exitCode, ExitCode.correctness);
});

t.test('liveness: a peer marked disconnected while its PDUs arrive', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      at('3s', (c) => c.node('n2')!.log.info({ event: 'peer.state', peer: 'n1', state: 'disconnected', failTimer: 3 }));
    },
  });
  t.same(
    violationKinds(result),
    ['liveness/disconnected-while-delivering@n2,n1'],
  );
  t.equal(result.exitCode, ExitCode.liveness);
});

t.test('crash: an exception escaping a node stops the run with exit 127', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      at('2s', (c) => c.node('n3')!.node.emit('fault', new Error('boom')));
    },
  });
  t.equal(result.exitCode, ExitCode.crash);
  t.equal(result.violations[0]?.invariant, 'crash');
  t.match(result.violations[0]?.message, /boom/);
  t.ok(result.aborted, 'the run stops at the first crash');
  t.ok(result.endMs < 4000, `stopped early (${result.endMs} ms)`);
});

t.test('hosting: a member that is not joined at the end', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
    },
    // Leaving at the very end, behind the simulator's back: n3 is `leaving`, not `joined`.
    inspect: (c) => c.node('n3')!.node.exit('#c0'),
  });
  t.same(
    violationKinds(result),
    ['hosting/disagreement@n3,n1'],
  );
  t.equal(result.exitCode, ExitCode.liveness);
});

t.test('delivery: a member frozen when a message is said, then cut off by a partition that begins during the freeze, and gone before the heal, is excused', async (t) => {
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('5s', (c) => c.freeze('n3'));
      at('5500ms', (c) => c.say('n1', '#c0', 'while frozen'));
      // Before the copy reaches n3's kernel (a frozen process's kernel still
      // takes what arrives, and the process reads it at the thaw).
      at(5500.01, (c) => c.partition([['n3'], ['n1', 'n2']]));
      at('7s', (c) => c.thaw('n3'));
      // More than the settle time after the thaw, but still cut off: the
      // repair could never begin, so nothing is required of n3.
      at('18s', (c) => c.exit('n3', '#c0'));
      at('19s', (c) => c.heal());
    },
  });
  t.same(violationKinds(result), []);
  t.equal(result.delivery.excused, 1, "n3 is excused from n1's message");
  t.equal(result.exitCode, ExitCode.pass);
});

/**
 * n1 hosts #c0 for n2 and n3; every datagram is lost from 5 s for 4 s (a
 * member suspects its host after 4X); `speaker` says a message during the
 * burst; a partition that begins during the burst cuts `cutOff` away until
 * after it left the channel (more than the settle time after the burst).
 */
const burstThenCut = (speaker: string, text: string, cutOff: string) =>
  simulate({
    nodes: 3,
    durationMs: 40_000,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('5s', (c) => c.lossBurst(1, 4000));
      at('6500ms', (c) => c.say(speaker, '#c0', text));
      at('7s', (c) => c.partition([[cutOff], ['n1', 'n2', 'n3'].filter((id) => id !== cutOff)]));
      at('21s', (c) => c.exit(cutOff, '#c0'));
      at('22s', (c) => c.heal());
    },
  });

t.test('delivery: a member that a loss burst split from its host, then cut off by a partition that begins during the burst, and gone before the heal, is excused', async (t) => {
  const result = await burstThenCut('n1', 'during the burst', 'n3');
  const [suspected] = eventsOf(result, 'host.suspected', (r) => r.node === 'n3');
  t.ok(suspected && suspected.vt > 5000 && suspected.vt < 6500, `n3 suspected its host during the burst, before the message (${suspected?.vt})`);
  t.same(violationKinds(result), []);
  t.equal(result.exitCode, ExitCode.pass);
});

t.test('delivery: a host whose members a loss burst took away, cut off by a partition that begins during the burst, and gone before the heal, is excused', async (t) => {
  // Seed 262 of the 10-node campaign with private channels: the members
  // left their host in a 75% loss burst (n2 and n3 moved to n2); the host's
  // own membership, alone with it, could not have what they said next
  // until the split brain healed.
  const result = await burstThenCut('n3', 'at the new host', 'n1');
  t.ok(eventsOf(result, 'takeover', (r) => r.node === 'n2' && r.vt < 6500).length > 0, 'n2 took over during the burst, before the message');
  t.same(violationKinds(result), []);
  t.equal(result.delivery.excused, 1, "n1 is excused from n3's message");
  t.equal(result.exitCode, ExitCode.pass);
});

t.test('delivery: a cut that begins while the host\'s copy to a member is still on its way disturbs that member (seed 32, 10 nodes, 5x chat, one private channel)', async (t) => {
  // A partition 3 ms after the ack kept the copy from the member; the side
  // it was cut off from then said more than a history holds. Counted as
  // undisturbed (the cut began after the ack), the member was required to
  // get it.
  const result = await simulate({ seed: 32, nodes: 10, channels: 3, privateChannels: 1, chatPerSecond: 50, durationMs: 120_000, faults: 'random', keepLog: false });
  t.same(violationKinds(result), []);
});

t.test('delivery: a loss burst under way when a repair should begin delays it (seed 77, --history 20)', async (t) => {
  // A 61% burst began 50 ms before a heal; n2, the host cut off with its own
  // member, heard the winner of the split brain 1.3 s later, when the
  // winner's 20-message history no longer held two messages said on its
  // side. Counted as repaired at the heal, n2 was required to get them.
  const result = await simulate({ seed: 77, nodes: 8, channels: 3, durationMs: 120_000, faults: 'random', chatPerSecond: 30, churnPerSecond: 0.2, membersPerChannel: 4, historyLimit: 20, keepLog: false });
  t.same(violationKinds(result), []);
});

t.test('delivery: the ninth session\'s corrections of the bounded-history excuse (8 nodes, --history 10 --rate 50; 10 nodes, --history 20 --private 2 --churn 1 --rate 30)', async (t) => {
  // Each seed failed the check until one rule (docs/simulator.md,
  // Invariants (b)): 2 a newcomer joined the old host of a loss-burst split;
  // 39 a node created the channel again in a burst (154: the other way
  // round); 63 and 23 the repair came from a host that had seen the
  // message; 69 the repair began 310 ms after the heal; 77 a member left its
  // host in a burst by failover.started alone; 96 a cut kept a member's host
  // from the acknowledging host; 95 a holder thawed just before the heal.
  for (const seed of [2, 39, 63, 69, 77, 96, 154]) {
    const result = await simulate({ seed, nodes: 8, channels: 3, durationMs: 120_000, faults: 'random', chatPerSecond: 50, membersPerChannel: 4, historyLimit: 10, keepLog: false });
    t.same(violationKinds(result), [], `seed ${seed}`);
  }
  // 46: the member's own takeover was no repair (12 nodes, --history 10 --rate 60 --fault-gap 1s).
  const fortySix = await hardest(46);
  t.same(violationKinds(fortySix), [], 'seed 46');
  // 37: the holder with the repair host had been cut off from it.
  const thirtySeven = await simulate({ seed: 37, nodes: 6, channels: 2, durationMs: 120_000, faults: 'random', chatPerSecond: 20, membersPerChannel: 4, historyLimit: 5, keepLog: false });
  t.same(violationKinds(thirtySeven), [], 'seed 37');
  for (const seed of [23, 95]) {
    const result = await simulate({ seed, nodes: 10, channels: 3, privateChannels: 2, durationMs: 120_000, faults: 'random', chatPerSecond: 30, churnPerSecond: 1, membersPerChannel: 4, historyLimit: 20, keepLog: false });
    t.same(violationKinds(result), [], `seed ${seed}`);
  }
});

t.test('delivery: a node that takes a channel over in a loss burst is a second host, like one that creates it (seed 128, 6 nodes, --members 2 --history 3 --rate 20)', async (t) => {
  // n1 stopped hearing its host n6 in a 74% burst and took #c1 over; n4,
  // just restarted, joined n1. n6's last member n2 said four messages
  // before the split brain was seen, and its relay (its last three) could
  // not carry the first: n4 was required to get it until a takeover in a
  // burst counted as a channel.created does.
  const result = await simulate({ seed: 128, nodes: 6, channels: 2, durationMs: 120_000, faults: 'random', chatPerSecond: 20, membersPerChannel: 2, historyLimit: 3, keepLog: false });
  t.same(violationKinds(result), []);
  t.ok(result.delivery.required > 0, `the check still requires deliveries (${result.delivery.required})`);
});

t.test('delivery: a holder\'s deliveries are counted a copy\'s way past the window (seed 56, 8 nodes, --rate 50 --history 10 --split-chunks)', async (t) => {
  // n5, the host of #c1, froze; n6 took over and held what its members
  // re-sent (17 messages) until its hold ended, 250 ms later, just after
  // n5 had thawed and yielded. It took them all at once, and n5 joined it
  // moments later: its 10-message WELCOME lacked four of them. A holder had
  // delivered only 3 more by then, so it seemed to hold them among its
  // last 5, and n5 was required to get them.
  const result = await simulate({ seed: 56, nodes: 8, channels: 3, durationMs: 120_000, faults: 'random', chatPerSecond: 50, membersPerChannel: 4, historyLimit: 10, splitChunks: true, keepLog: false });
  t.same(violationKinds(result), []);
  t.ok(result.delivery.required > 10_000, `the check still requires deliveries (${result.delivery.required})`);
});

t.test('delivery: a loss split that begins while the host\'s copy is on its way disturbs the member (seed 79, 6 nodes, --history 1 --split-chunks)', async (t) => {
  // In an 81% burst n5 suspected its host n3 0.5 ms after n3 acknowledged
  // n4's message, and failed over; the copy to n5 was on the connection it
  // gave up. A history of one promises no repair, yet counted as
  // undisturbed (the split began after the ack), n5 was required to get it.
  const result = await simulate({ seed: 79, nodes: 6, channels: 2, durationMs: 120_000, faults: 'random', membersPerChannel: 4, historyLimit: 1, splitChunks: true, keepLog: false });
  t.same(violationKinds(result), []);
  t.ok(result.delivery.required > 1000, `the check still requires deliveries (${result.delivery.required})`);
});

t.test('delivery: a member with another hosting than the acknowledging one is disturbed until it joins a host again (seeds 22, 44 and 194, 12 nodes, --history 10 --rate 60 --fault-gap 1s)', async (t) => {
  // Seed 44: n7 joined #c3 in an 82% burst at n5, whose split brain with
  // n10 (from a partition healed 0.4 s before) the burst kept unresolved;
  // n10's side said 13 messages, then its hosting moved to n3, which froze;
  // when n7's side merged into it on the thaw, n3's 10-message WELCOME
  // held none of the 13. No rule counted n7 as
  // disturbed (no cut, freeze or loss-made split of its own), so it was
  // required to get them. Both seeds passed in the ninth session and
  // failed from the tenth's stricter check on, with these very runs.
  // Seed 194: the member's host yielded and took the channel over again at
  // a higher epoch, while the member, sent on by MOVED, waited for the
  // winner's PDU: the same host, another hosting.
  for (const seed of [22, 44, 194]) {
    await hardestPasses(t, seed, false, `seed ${seed}`);
  }
});

t.test('delivery: a repair is over once the host has merged what it gathered (seeds 13 and 43, 12 nodes, --history 10 --rate 60 --fault-gap 1s --split-chunks)', async (t) => {
  // Seed 43: n8 joined n10, the winner of a four-way split brain in an 88%
  // burst; n10 gathered the loser n4's relay of its own three messages for
  // an interval and merged it at 48.787 s, after a partition had cut n8 off
  // at 48.696 s. The repair counted as over at n8's join, so the partition
  // did not continue its disturbance, and n8 was required to get them.
  for (const seed of [13, 43]) {
    await hardestPasses(t, seed, true, `seed ${seed}`);
  }
});

t.test('delivery: a holder that got the message at the instant it thawed does not count (seed 79, 12 nodes, --history 10 --rate 60 --fault-gap 1s)', async (t) => {
  // n8 got n3's message with what was queued for it while frozen, at its
  // thaw; by n12's repair it had delivered 4 more, its host n3 22. Counted
  // as not frozen (a freeze span excludes its end), it seemed to hold the
  // message among its last 5, and n12 was required to get it.
  await hardestPasses(t, 79);
});

t.test('delivery: a freeze of the member\'s node while the host\'s copy is on its way disturbs it (seed 200, 12 nodes, --history 10 --rate 60 --fault-gap 1s)', async (t) => {
  // n3 froze 0.5 ms after n9 acknowledged n6's message; the copy to n3
  // waited in the pipe for the thaw, a partition began 2.5 s into the
  // freeze and held it there, and n3, thawed on the other side, failed
  // over. Counted as undisturbed (the freeze began after the ack), n3 was
  // required to get it.
  await hardestPasses(t, 200);
});

t.test('delivery: a repair cut short by the host yielding goes on until the member joins a host again (seed 513, 12 nodes, --history 10 --rate 60 --fault-gap 1s)', async (t) => {
  // A three-way split brain of #c0: n7 yielded to n8 and joined it, 0.9 s
  // after n10 acknowledged its own message on the third side; n8 lost to
  // n10 72 ms later and sent n7 on, and n7, in a 66% burst, found n10 only
  // 0.9 s after that, when n10 had said 10 more. Counted as repaired by
  // n8 (n7's repair ended at that join), n7 was required to get it.
  await hardestPasses(t, 513);
});

t.test("delivery: the repair host's own membership is its window, not a member that relayed into it (seed 219, 12 nodes, --history 10 --rate 60 --fault-gap 1s)", async (t) => {
  // n7 merged 26 relays of three sides of #c0 at one instant, past the 20
  // it keeps (docs/protocol.md 5.5), and n4's message was the third oldest.
  // n1, a member of one side, had relayed most of the rest itself, so it
  // got back only 4 messages after n4's: it seemed to hold it among its
  // last 5 for n10, which joined n7 2 ms later.
  await hardestPasses(t, 219);
});

/** One run of `--nodes 16 --channels 4 --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms`. */
const sixteen = (seed: number, extra: Partial<SimOptions> = {}) =>
  simulate({ seed, nodes: 16, channels: 4, privateChannels: 1, durationMs: 120_000, faults: 'random', chatPerSecond: 80, churnPerSecond: 1, membersPerChannel: 4, historyLimit: 10, faultGapMs: 700, keepLog: false, ...extra });

t.test('delivery: a holder cut off from the member when its repair begins is judged when it can reach it again (seed 111, 16 nodes, --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms)', async (t) => {
  // n2 and n5 of #c0 missed five messages while they chased hosts for 3.5
  // s, and rejoined a host whose 10-message history no longer held them.
  // n3 still did, among its last 4 deliveries, but a partition had cut it
  // off from them; before the heal, as the host of its side, it took its
  // own 30 re-sent messages, and the five left its history. Judged at the
  // repair's beginning, n3 seemed to hold them for n2 and n5: 10 pairs
  // missing.
  const result = await sixteen(111);
  t.same(violationKinds(result), []);
  // 14,216 since the twenty-fifth session's member rules changed the run.
  t.ok(result.delivery.required > 10_000, `the check still requires deliveries (${result.delivery.required})`);
  t.ok(result.delivery.byLate > 0, `LATE frames brought messages their members had missed (${result.delivery.byLate})`);
});

t.test('delivery: a holder that got the message by LATE holds it in no history (seed 195, 16 nodes, --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms)', async (t) => {
  // n9, the host of one side of #c2 when n6 said a message, relayed it to
  // n6's takeover, which held it no more: n4 got it by LATE, took the
  // channel over, and n5 and n7, from the other side of a split brain,
  // joined n4. Counted as n4's, it seemed to be in n4's history for them.
  const result = await sixteen(195);
  t.same(violationKinds(result), []);
  t.ok(result.delivery.byLate > 0, `deliveries by LATE (${result.delivery.byLate})`);
});

t.test("delivery: an author's re-sent message behind its newer one that a member got merged in its WELCOME is the merge-order exception (seed 45, 16 nodes, --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms --split-chunks)", async (t) => {
  // n11 took n15's 4587 and 4598 and never echoed them; a member relayed
  // 4598 into n5's merge, n4 joined n5 and got it in the WELCOME, and n15
  // re-sent 4587 to n5 3.6 s later: n4 got it live, behind.
  const result = await sixteen(45, { splitChunks: true });
  t.same(violationKinds(result), []);
  t.ok(result.delivery.mergedLate >= 1, `counted as merged late (${result.delivery.mergedLate})`);
});

t.test("delivery: which host a delivery came from is the one its chat line names, not the member's host by then (seed 1, 16 nodes, --rate 80 --churn 1 --history 10 --private 1 --fault-gap 700ms)", async (t) => {
  // Seed 141 showed it first: n6 joined n12 and, in the same chunk of the
  // stream, got n12's WELCOME and a MOVED to n16; its lines were shown
  // after the MOVED, when n6's host was n16 already. n16's WELCOME 4 ms
  // later brought an older message of n16 that n12's window had dropped: a
  // late repair, which looked like one host's WELCOME out of order. Since
  // a frozen host's kernel takes what arrives (seventeenth session) seed
  // 141 no longer shows it; seed 23 does: taken as the member's host at
  // the line, n9's delivery of n7:5859 after n7:5933 in @c3 is an order
  // violation. Since the twenty-fifth session's member rules seed 23 counts
  // no late repair; seed 1 counts 2 (as do 17 of seeds 1 to 30), which
  // this test asks of it, not that this exact story recurs.
  const result = await sixteen(1);
  t.same(violationKinds(result), []);
  t.ok(result.delivery.lateRepairs >= 1, `counted as a late repair (${result.delivery.lateRepairs})`);
});

t.test("delivery: a repair by a holder's relay is over only once M's host has the message (seed 173, 8 nodes, --rate 40 --history 5 --pdu-interval 500 --fault-gap 500ms)", async (t) => {
  // n2, thawed, joined n5; n8, which had acknowledged its own message on
  // another side, froze before it heard n5 and relayed the message into it
  // 4.5 s after n2's join, when a partition had cut n2 off from n5 for
  // 3.3 s. Counted as repaired an interval after the join, n2 was required
  // to get it.
  const result = await simulate({ seed: 173, nodes: 8, channels: 2, durationMs: 120_000, faults: 'random', chatPerSecond: 40, membersPerChannel: 4, historyLimit: 5, pduIntervalMs: 500, settleMs: 20_000, faultGapMs: 500, keepLog: false });
  t.same(violationKinds(result), []);
  t.ok(result.delivery.required > 3000, `the check still requires deliveries (${result.delivery.required})`);
});

t.test('delivery: a message said after a disturbance, once the repair began, is required like any other', async (t) => {
  // n3 is frozen for 600 ms; its repair begins at the latest a detection
  // time after the thaw. A message said later is no repair's business: n3
  // gets it live. Until the tenth session the check judged it at the
  // repair's beginning, when no holder had it yet, and excused it.
  const result = await simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('5s', (c) => c.freeze('n3'));
      at('5600ms', (c) => c.thaw('n3'));
      at('8s', (c) => {
        swallowChat(c.node('n3')!.node, (line) => line.text === 'after the thaw');
        c.say('n2', '#c0', 'after the thaw');
      });
    },
  });
  t.same(violationKinds(result), ['delivery/missing@n3,n2,n1']);
  t.equal(result.delivery.excused, 0);
});

t.test('delivery: the tenth session\'s corrections (a frozen host on either side of a split; a history of one)', async (t) => {
  // 103: the members' host was frozen and a restarted node created the
  // channel again (10 nodes, --history 3 --rate 20); 30 and 177: a member
  // left the acknowledging host while it was frozen (177: a millisecond
  // after the thaw), and the thawed host took SAYs queued in its socket
  // before it yielded; 186: a history of one promises no repair; 212: the
  // host a member was with when the message was said was cut off
  // (6 nodes, 2 channels, --history 1).
  const oneOhThree = await simulate({ seed: 103, nodes: 10, channels: 3, durationMs: 120_000, faults: 'random', chatPerSecond: 20, membersPerChannel: 4, historyLimit: 3, keepLog: false });
  t.same(violationKinds(oneOhThree), [], 'seed 103');
  for (const seed of [30, 177, 186, 212]) {
    const result = await simulate({ seed, nodes: 6, channels: 2, durationMs: 120_000, faults: 'random', chatPerSecond: 10, membersPerChannel: 4, historyLimit: 1, keepLog: false });
    t.same(violationKinds(result), [], `seed ${seed}`);
  }
});

t.test('delivery: seeds 6 (10x chat) and 98 (faults every 500 ms) replay without violations', async (t) => {
  // Both showed the merge-order exception of docs/protocol.md 5.5 (after a
  // split brain the winner merged an author's messages acknowledged on the
  // other side behind one it had taken live), counted as order violations
  // until the eighth session. Since the ninth session's takeover hold (F17)
  // their runs take other paths; the scripted tests below show the rule.
  const six = await simulate({ seed: 6, nodes: 10, channels: 3, durationMs: 120_000, faults: 'random', chatPerSecond: 100, keepLog: false });
  t.same(violationKinds(six), []);
  const ninetyEight = await simulate({ seed: 98, nodes: 12, channels: 4, privateChannels: 1, durationMs: 180_000, faults: 'random', chatPerSecond: 30, churnPerSecond: 1, membersPerChannel: 4, faultGapMs: 500, keepLog: false });
  t.same(violationKinds(ninetyEight), []);
});

/**
 * n1 hosts #c0 for n2, cut off with it from n3 and n4, which take the
 * channel over; n2 says "side", n1's user leaves, the partition heals, and
 * the split brain's merge brings "side" to n3 and n4.
 */
const hostAloneWithItsSide = () =>
  simulate({
    nodes: 4,
    durationMs: 40_000,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3', 'n4']);
      at('5s', (c) => c.partition([['n1', 'n2'], ['n3', 'n4']]));
      at('5500ms', (c) => c.say('n2', '#c0', 'side'));
      at('6s', (c) => c.exit('n1', '#c0'));
      at('10s', (c) => c.heal());
    },
  });

/**
 * n1 hosts #c0 for n2 and n3; n3's screen swallows n2's `text`; n1's user
 * and then n2 leave; `n3ExitsAt` (if given) n3 leaves too, which empties
 * n1's hosting and closes it.
 */
const swallowedThenLeft = (text: string, n3ExitsAt?: string) =>
  simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('3s', (c) => {
        swallowChat(c.node('n3')!.node, (line) => line.text === text);
        c.say('n2', '#c0', text);
      });
      at('5s', (c) => c.exit('n1', '#c0'));
      at('6s', (c) => c.exit('n2', '#c0'));
      if (n3ExitsAt !== undefined) at(n3ExitsAt, (c) => c.exit('n3', '#c0'));
    },
  });

t.test("delivery: the acknowledging host holds a message while its hosting is open, even after its own user left; closed, it holds nothing (seed 7, --churn 2 --private 1)", async (t) => {
  // n3 stays past the settle time after the ack, so it had to get the
  // message; while n1 still hosts, it is missing, not lost, though n1's
  // user and the author both left.
  const stillHosted = await swallowedThenLeft('kept');
  t.same(violationKinds(stillHosted), ['delivery/missing@n3,n2,n1'], "n1's hosting still holds it");
  t.equal(stillHosted.delivery.lost, 0);
  // n3 leaves 11 s after the ack: n1's hosting, empty, closes, and with it
  // the last copy.
  const closed = await swallowedThenLeft('gone', '14s');
  t.ok(eventsOf(closed, 'channel.closed', (r) => r.node === 'n1' && r.reason === 'empty').length > 0, "n1's hosting closed, empty");
  t.same(violationKinds(closed), [], 'nobody holds it any more');
  t.equal(closed.delivery.lost, 1, 'counted lost');
  t.match(closed.lostReasons[0], /n1 left at 5\.\d+s, n1 closed the channel at 14\.\d+s/, 'with the host that closed the channel among the reasons');
  // Across a split brain, a host whose user left still holds what its side
  // said: the merge brings it to the other side.
  const merged = await hostAloneWithItsSide();
  t.same(violationKinds(merged), [], 'n3 and n4 get "side" (n2 relays it)');
  t.equal(merged.delivery.lost, 0);
});

/**
 * n3 misses n2's "older" while cut off from n2, gets n2's "newer" from its
 * host, and after the heal "older" from `repairHost` (another host's id and
 * epoch, or its own host): from a WELCOME's history unless `as` says
 * otherwise.
 */
const lateRepair = (repairHost: { hostId: string; epoch: number } | 'its own host', as = { fromHistory: true, relayed: false }) =>
  simulate({
    nodes: 3,
    script: ({ at }) => {
      hostWithMembers(at, 'n1', ['n2', 'n3']);
      at('5s', (c) => {
        // Only n2's datagrams to n3 are lost: both stay with n1, but the cut
        // disturbs n3 for what n2 says.
        c.partitionOneWay(['n2'], ['n3']);
        // n3's screen swallows "older": it stands for a copy the cut cost n3.
        swallowChat(c.node('n3')!.node, (line) => line.text === 'older' && !line.repair);
      });
      at('5500ms', (c) => c.say('n2', '#c0', 'older'));
      at('8s', (c) => c.say('n2', '#c0', 'newer'));
      at('12s', (c) => c.heal());
      at('13s', (c) => {
        const node = c.node('n3')!.node;
        const own = node.membership('#c0')!;
        const via = repairHost === 'its own host' ? { host: own.hostId, epoch: own.epoch } : { host: repairHost.hostId, epoch: repairHost.epoch };
        node.emit('chat', { channel: '#c0', authorId: 'n2', text: 'older', msgId: 'x', ...as, ...via, repair: true } as never);
      });
    },
  });

t.test('delivery: a message a member missed while cut off, repaired by another host after a newer one of its author, is a late repair, not an order violation (seed 99, 10 nodes, 5x chat)', async (t) => {
  const result = await lateRepair({ hostId: 'n2', epoch: 2 });
  t.same(violationKinds(result), []);
  t.equal(result.delivery.lateRepairs, 1, 'counted as repaired late');
  t.equal(result.exitCode, ExitCode.pass);
});

t.test('delivery: from the host that gave the newer message, an older one of its author is an order violation, disturbed or not (F10 was a WELCOME out of order)', async (t) => {
  const result = await lateRepair('its own host');
  t.same(violationKinds(result), ['delivery/order@n3,n2']);
  t.equal(result.delivery.lateRepairs, 0);
});

t.test('delivery: from its own host, an older message merged from a relay behind a newer one of its author is the merge-order exception, not an order violation (seed 98, faults every 500 ms)', async (t) => {
  const result = await lateRepair('its own host', { fromHistory: false, relayed: true });
  t.same(violationKinds(result), []);
  t.equal(result.delivery.mergedLate, 1, 'counted as merged late');
  t.equal(result.delivery.lateRepairs, 0);
  t.equal(result.exitCode, ExitCode.pass);
});

t.test('delivery: a relayed message in a WELCOME must still keep its author\'s order (a WELCOME is in each author\'s order, docs/protocol.md 5.5)', async (t) => {
  const result = await lateRepair('its own host', { fromHistory: true, relayed: true });
  t.same(violationKinds(result), ['delivery/order@n3,n2']);
  t.equal(result.delivery.mergedLate, 0);
});
