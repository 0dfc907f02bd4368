// channel-member: a member's view of one channel, its failover (draft
// 2.3.2) and its exactly-once bookkeeping (outbox, de-duplication, relay).
import fc from 'fast-check';
import t from 'tap';
import { historyWindowMax } from '../../machines/history.ts';
import { EMPTY_SEEN } from '../../machines/seen-window.ts';
import type { ServerCommand } from '../../lib/wire/command.ts';
import { memberActor } from '../helpers/machine-inputs.ts';

function member(selfId = 'm') {
  const m = memberActor(selfId);
  const { actor, emitted, gen, frame } = m;
  /** Connect to `hostId` and complete the JOIN with the given history. */
  const joinHost = (hostId: string, epoch: number, history: Array<[string, string, string]> = [], standbys: string[] = []) => {
    actor.send({ type: 'CONNECTED', gen: gen() });
    frame({ type: 'WELCOME', channel: '#x', epoch, count: history.length });
    history.forEach(([authorId, text, msgId], i) => frame({ type: 'SAY', authorId, text, msgId, seq: i + 1 }));
    if (standbys.length > 0) frame({ type: 'STANDBY', peerIds: standbys });
    void hostId;
  };
  return { ...m, joinHost, clear: () => emitted.splice(0) };
}

t.test('nobody announces the channel within the lookup time: the node hosts it and joins it', async (t) => {
  const m = member();
  m.clock.advance(499);
  t.equal(m.state(), 'resolving');
  m.clock.advance(1);
  t.same(m.of('requestHost'), [{ type: 'requestHost', epoch: 1, history: [], seen: EMPTY_SEEN, members: [] }]);
  t.same(m.of('connect').at(-1)!.hostId, 'm');
});

t.test('a known host: connect, JOIN channel peerId, WELCOME with history, joined', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 3 });
  t.equal(m.of('connect').at(-1)!.hostId, 'h');
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  t.same(m.of('send').at(-1)!.commands, [{ type: 'JOIN', channel: '#x', peerId: 'm' }]);
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 3, count: 2 });
  t.equal(m.state(), 'welcoming');
  m.frame({ type: 'SAY', authorId: 'a', text: 'one', msgId: 'a1', seq: 1 });
  m.frame({ type: 'SAY', authorId: 'b', text: 'two', msgId: 'b1', seq: 2 });
  t.equal(m.state(), 'joined');
  t.same(m.of('deliver').map((d) => [d.text, d.fromHistory]), [['one', true], ['two', true]]);
  t.same(m.of('joined').at(-1), { type: 'joined', hostId: 'h', epoch: 3, history: 2, relayed: 0, resent: 0 });
});

t.test('a WELCOME announcing more history than a host keeps: all delivered, at most what a host keeps collected and kept', async (t) => {
  const m = member(); // historyLimit 10
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 3 });
  m.joinHost('h', 3, Array.from({ length: 50 }, (_, i): [string, string, string] => ['a', `t${i}`, `a${i}`]));
  t.equal(m.state(), 'joined');
  t.equal(m.of('deliver').length, 50, 'every frame reaches the user once');
  t.equal(m.of('joined').at(-1)!.history, historyWindowMax(10), 'the WELCOME collected is bounded by what a window holds (said and relayed: 3 x historyLimit)');
  t.equal(m.actor.getSnapshot().context.history.length, historyWindowMax(10), 'and so is the history');
});

t.test('SAY: queued in the outbox until the host echoes it; a duplicate echo is not shown twice', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1);
  m.actor.send({ type: 'USER_SAY', text: 'hello' });
  t.same(m.of('send').at(-1)!.commands, [{ type: 'SAY', text: 'hello', msgId: 'p-1' }]);
  t.equal(m.actor.getSnapshot().context.outbox.length, 1);
  m.frame({ type: 'SAY', authorId: 'm', text: 'hello', msgId: 'p-1', seq: 1 });
  t.equal(m.actor.getSnapshot().context.outbox.length, 0, 'the echo settles the outbox');
  m.frame({ type: 'SAY', authorId: 'm', text: 'hello', msgId: 'p-1', seq: 1 });
  t.equal(m.of('deliver').length, 1, 'delivered exactly once');
});

t.test('SEEN: the host accepted our message before and has no copy to echo; the outbox is settled and the user sees it once (F19)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1);
  m.actor.send({ type: 'USER_SAY', text: 'relayed in while we were away' });
  m.frame({ type: 'SEEN', msgId: 'p-1' });
  t.equal(m.actor.getSnapshot().context.outbox.length, 0, 'settled');
  t.same(m.of('deliver').map((d) => [d.authorId, d.text]), [['m', 'relayed in while we were away']], 'shown as the echo would be');
  t.same(m.actor.getSnapshot().context.history, [], 'no history entry: the host keeps none');
  m.frame({ type: 'SEEN', msgId: 'p-1' });
  m.frame({ type: 'SEEN', msgId: 'not ours' });
  t.equal(m.of('deliver').length, 1, 'again, or for another msgId: nothing');
});

t.test('LATE: a message the host accepted before and holds no more is shown once if never seen, and kept out of the history', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [['a', 'had it', 'a1']]);
  m.frame({ type: 'LATE', authorId: 'a', text: 'missed', msgId: 'a0' });
  m.frame({ type: 'LATE', authorId: 'a', text: 'missed', msgId: 'a0' });
  m.frame({ type: 'LATE', authorId: 'a', text: 'had it', msgId: 'a1' });
  t.same(
    m.of('deliver').map((d) => [d.text, d.fromHistory, d.relayed]),
    [
      ['had it', true, false],
      ['missed', false, true],
    ],
    'the missed one once, marked as merged; the one we had, not again',
  );
  t.same(m.actor.getSnapshot().context.history.map((h) => h.msgId), ['a1'], 'the history mirrors the host, which does not hold it');
  m.actor.send({ type: 'USER_SAY', text: 'mine' });
  m.frame({ type: 'LATE', authorId: 'm', text: 'mine', msgId: 'p-1' });
  t.equal(m.actor.getSnapshot().context.outbox.length, 0, 'our own: the outbox is settled');
});

t.test('fast path: the connection closes, one quick reconnect is refused, the first standby is joined', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [], ['s1', 's2']);
  m.actor.send({ type: 'USER_SAY', text: 'unacked' });
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  t.same(m.of('hostSuspected'), [{ type: 'hostSuspected', hostId: 'h', via: 'connection' }]);
  const quick = m.of('connect').at(-1)!;
  t.same([quick.hostId, quick.timeoutMs], ['h', 100], 'one quick attempt, bounded');
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  t.equal(m.of('connect').at(-1)!.hostId, 's1');
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  t.equal(m.of('connect').at(-1)!.hostId, 's2', 'the next standby when the first is gone too');
  m.clear();
  m.joinHost('s2', 2);
  t.same(m.of('send').at(-1)!.commands, [{ type: 'SAY', text: 'unacked', msgId: 'p-1' }], 'the outbox is re-sent with the same msgId');
});

t.test("PROMOTE of our own JOIN (our host closed before it got there): we host again on that connection, once (F23)", async (t) => {
  const m = member('s1');
  m.actor.send({ type: 'HOST_FOUND', hostId: 's1', epoch: 3 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  const gen = m.gen();
  const connects = m.of('connect').length;
  m.actor.send({ type: 'PROMOTE', own: true });
  t.same(m.of('requestHost').map((r) => r.epoch), [4], 'hosts at the next epoch');
  t.equal(m.gen(), gen, 'on the same connection');
  t.equal(m.of('connect').length, connects, 'no new connect (it dropped the JOIN on the way, and the new host emptied again)');
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 4, count: 0 });
  t.equal(m.state(), 'joined');
  m.actor.send({ type: 'PROMOTE' });
  t.equal(m.of('connect').length, connects + 1, "a fellow member's JOIN: reconnect to ourselves as before");
});

t.test('a standby that is no member any more is no candidate: MEMBERS prunes the standbys (the host sends no empty STANDBY)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [], ['s1']);
  m.frame({ type: 'MEMBERS', peerIds: ['h', 's1', 'm'] });
  t.same(m.actor.getSnapshot().context.standbys, ['s1']);
  m.frame({ type: 'MEMBERS', peerIds: ['h', 'm'] });
  t.same(m.actor.getSnapshot().context.standbys, [], 's1 left: no standby');
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  t.same(m.of('connect').map((c) => c.hostId), ['h', 'h', 'm'], 'the failover skips s1 (it JOINed a node that no longer held the channel)');
});

t.test('one failover, one failoverStarted; a takeover names the host the failover began with, not the last candidate tried', async (t) => {
  const m = member('s2');
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 4 });
  m.joinHost('h', 4, [], ['s1', 's2']);
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  t.same(m.of('failoverStarted'), [{ type: 'failoverStarted', hostId: 'h', epoch: 4, candidates: ['s1', 's2'] }], 'one line, naming h');
  t.same(m.of('requestHost').map((r) => [r.epoch, r.previousHost]), [[5, 'h']], 's1 failed too: s2 takes over from h');
});

t.test('a host that accepts and closes before its WELCOME: one quick reconnect, then the next candidate; never a loop', async (t) => {
  // Until December 2026 each close went back to reconnecting: a member whose
  // host refused it after accepting (another --secret's TLS, a refused
  // JOIN) connected some 1,100 times a second, for ever.
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [], ['s1', 's2']);
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  t.equal(m.state(), 'welcoming', 'the quick reconnect is accepted');
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'closed' });
  t.same(m.of('connect').map((c) => c.hostId), ['h', 'h', 's1'], 'and closed again: the first standby, not h a third time');
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'cannot host the channel now' });
  t.same(m.of('connect').map((c) => c.hostId), ['h', 'h', 's1', 's2'], 'a candidate that closes before its WELCOME: the next one');
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'closed' });
  t.same(m.of('connect').map((c) => c.hostId), ['h', 'h', 's1', 's2', 'm'], 'then itself, the lowest live member (the members it knows: itself)');
  t.same(m.of('requestHost').map((r) => r.epoch), [2], 'taking over at epoch + 1');
  t.same(m.of('hostSuspected').map((e) => e.via), ['connection'], 'one suspicion');
});

t.test('a joiner whose host accepts and closes every connection waits in orphaned between rounds', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  for (let i = 0; i < 2; i++) {
    m.actor.send({ type: 'CONNECTED', gen: m.gen() });
    m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'closed' });
  }
  t.equal(m.state(), 'orphaned', 'never welcomed, the host not down: nobody else to try');
  t.equal(m.of('connect').length, 2, 'two connections, not a loop');
});

t.test('timer path: the host is disconnected (figure 6) -> fail over; a stale event of the old connection is ignored', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [], ['s1']);
  const oldGen = m.gen();
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  t.same(m.of('hostSuspected').at(-1), { type: 'hostSuspected', hostId: 'h', via: 'liveness' });
  t.equal(m.of('connect').at(-1)!.hostId, 's1');
  m.actor.send({ type: 'CLOSED', gen: oldGen, reason: 'reset' });
  t.equal(m.state(), 'connecting', 'the old connection closing changes nothing');
});

t.test('the standby itself: takes over with epoch + 1 and its history, then joins itself', async (t) => {
  const m = member('s1');
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 4 });
  m.joinHost('h', 4, [['a', 'kept', 'a1']], ['s1', 's2']);
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ECONNREFUSED' });
  const request = m.of('requestHost').at(-1)!;
  t.equal(request.epoch, 5);
  t.same(request.history.map((h) => h.text), ['kept']);
  t.equal(request.previousHost, 'h');
  t.equal(m.of('connect').at(-1)!.hostId, 's1');
});

t.test('every standby gone: the lowest live member hosts (the channel is not lost)', async (t) => {
  const m = member('b');
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [], ['s1']);
  m.frame({ type: 'MEMBERS', peerIds: ['h', 's1', 'b', 'c'] });
  for (const id of ['h', 's1']) m.actor.send({ type: 'PEER_DOWN', peerId: id });
  t.equal(m.of('requestHost').at(-1)?.epoch, 2, 'b is the lowest live member: it hosts');
});

t.test('after rejoining, messages the new host lacks are relayed, in order, before the outbox', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [['a', 'one', 'a1'], ['b', 'two', 'b1'], ['a', 'three', 'a2']], ['s1']);
  m.actor.send({ type: 'USER_SAY', text: 'mine' });
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  m.clear();
  m.joinHost('s1', 2, [['a', 'one', 'a1']]);
  t.same(m.of('send').at(-1)!.commands, [
    { type: 'RELAY', authorId: 'b', text: 'two', msgId: 'b1', seq: 2 },
    { type: 'RELAY', authorId: 'a', text: 'three', msgId: 'a2', seq: 3 },
    { type: 'SAY', text: 'mine', msgId: 'p-1' },
  ]);
  t.same(m.of('deliver'), [], 'nothing shown twice');
  t.equal(m.of('joined').at(-1)!.relayed, 2);
});

t.test('a relay the host turned down (MERGED without it) is not relayed again at the next failover; one to a host that died first is (F11)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, [['a', 'one', 'a1'], ['b', 'two', 'b1']], ['s1', 's2']);
  const relays = () => m.of('send').flatMap((e) => e.commands).filter((c) => c.type === 'RELAY').map((c) => c.type === 'RELAY' && c.msgId);
  // s1 lacks b1 in its history: we relay it.
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  m.clear();
  m.joinHost('s1', 2, [['a', 'one', 'a1']], ['s2']);
  t.same(relays(), ['b1']);
  // s1 dies before it sent anything new: s2 lacks b1 too, and gets it again.
  m.actor.send({ type: 'PEER_DOWN', peerId: 's1' });
  m.clear();
  m.joinHost('s2', 3, [['a', 'one', 'a1']], ['s3']);
  t.same(relays(), ['b1'], 'relayed again: s1 may have died before it accepted it');
  // A new message from s2 may have been on its way before our relay reached it: b1 still waits.
  m.frame({ type: 'SAY', authorId: 'c', text: 'new', msgId: 'c1', seq: 2 });
  t.ok(m.actor.getSnapshot().context.history.some((h) => h.msgId === 'b1' && h.pending), 'a SAY is no answer to our relay');
  // s2 turns it down (it had seen it): its MERGED says so, and b1 leaves our history.
  m.frame({ type: 'MERGED' });
  t.notOk(m.actor.getSnapshot().context.history.some((h) => h.msgId === 'b1'), 'the turned-down relay is gone from our history');
  t.same(m.actor.getSnapshot().context.history.map((h) => h.msgId), ['a1', 'c1'], "the host's window, nothing else");
  m.actor.send({ type: 'PEER_DOWN', peerId: 's2' });
  m.clear();
  m.joinHost('s3', 4, [['a', 'one', 'a1']]);
  t.same(relays(), ['c1'], 'b1 is not relayed a third time; what s3 lacks of what s2 sent is');
});

t.test("what we relay at a join does not push the host's WELCOME out of our history", async (t) => {
  const m = member(); // historyLimit 10
  const said = (author: string, n: number): Array<[string, string, string]> => Array.from({ length: n }, (_, i) => [author, `${author}${i}`, `${author}${i}`]);
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1, said('a', 8), ['s1']);
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  m.joinHost('s1', 2, said('b', 8));
  const history = m.actor.getSnapshot().context.history;
  t.same(history.filter((h) => !h.pending).map((h) => h.msgId), said('b', 8).map(([, , id]) => id), 'all of the WELCOME is kept');
  t.same(history.filter((h) => h.pending).map((h) => h.msgId), said('a', 8).map(([, , id]) => id), 'and all 8 relays wait for the host to decide');
  // s1 takes them (marked as merged relays) and goes on: our history is the host's window again.
  said('a', 8).forEach(([authorId, text, msgId], i) => m.frame({ type: 'SAY', authorId, text, msgId, seq: 9 + i, relayed: true }));
  m.frame({ type: 'SAY', authorId: 'c', text: 'new', msgId: 'c1', seq: 17 });
  const after = m.actor.getSnapshot().context.history;
  t.same(after.map((h) => h.msgId), ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', ...said('a', 8).map(([, , id]) => id), 'c1'], '9 said, 8 relayed: all within the window');
  t.notOk(after.some((h) => h.pending), 'nothing waits any more');
});

t.test('the frames of a chunk in one event: the same as one event per frame, however the stream was cut (property)', async (t) => {
  // A WELCOME whose history count varies (0: joined at once; more than the
  // SAYs after it: live ones taken for history, as the host said), own
  // messages settled by echo and by SEEN, a duplicate, a merge, then MOVED
  // and a frame after it that belongs to the old connection.
  const frames = (count: number): ServerCommand[] => [
    { type: 'WELCOME', channel: '#x', epoch: 2, count },
    { type: 'SAY', authorId: 'a', text: 'one', msgId: 'a1', seq: 1 },
    { type: 'SAY', authorId: 'm', text: 'mine', msgId: 'p-1', seq: 2 },
    { type: 'STANDBY', peerIds: ['s1', 's2'] },
    { type: 'SAY', authorId: 'b', text: 'two', msgId: 'b1', seq: 3 },
    { type: 'MEMBERS', peerIds: ['m', 'a', 'b'] },
    { type: 'SEEN', msgId: 'p-2' },
    { type: 'SAY', authorId: 'a', text: 'one', msgId: 'a1', seq: 1 },
    { type: 'MERGED' },
    { type: 'SAY', authorId: 'c', text: 'three', msgId: 'c1', seq: 4, relayed: true },
    { type: 'MOVED', hostId: 'w', epoch: 3 },
    { type: 'SAY', authorId: 'z', text: 'late', msgId: 'z1', seq: 5 },
  ];
  const run = (commands: ServerCommand[], cuts: number[]) => {
    const m = member();
    m.actor.send({ type: 'USER_SAY', text: 'mine' });
    m.actor.send({ type: 'USER_SAY', text: 'again' });
    m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
    const gen = m.gen();
    m.actor.send({ type: 'CONNECTED', gen });
    const at = [0, ...new Set(cuts)].sort((x, y) => x - y);
    at.forEach((from, i) => m.actor.send({ type: 'FRAMES', gen, commands: commands.slice(from, at[i + 1] ?? commands.length) }));
    const { seen, ...context } = m.actor.getSnapshot().context;
    return { state: m.state(), context, seen: seen.snapshot(), emitted: m.emitted };
  };
  const n = frames(0).length;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5 }), fc.array(fc.integer({ min: 1, max: n - 1 }), { maxLength: n }), (count, cuts) => {
      const oneByOne = run(frames(count), Array.from({ length: n - 1 }, (_, i) => i + 1));
      t.same(run(frames(count), cuts), oneByOne);
      return true;
    }),
    { numRuns: 200 },
  );
  const whole = run(frames(3), []);
  t.equal(whole.context.hostId, 'w', 'in one chunk too, MOVED sends us to the winner');
  t.same(whole.emitted.filter((e) => e.type === 'deliver').map((d) => d.type === 'deliver' && d.text), ['one', 'mine', 'two', 'again', 'three'], 'each message shown once, the late frame not at all');
});

t.test('MOVED: the split brain loser sends us to the winner', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1);
  m.frame({ type: 'MOVED', hostId: 'w', epoch: 2 });
  t.equal(m.of('connect').at(-1)!.hostId, 'w');
  t.same(m.of('moved'), [{ type: 'moved', from: 'h', hostId: 'w', epoch: 2 }], 'the move is told (the node logs member.moved)');
});

t.test('the outbox is bounded while no host is reachable', async (t) => {
  const m = member();
  for (let i = 0; i < 4; i++) m.actor.send({ type: 'USER_SAY', text: `t${i}` });
  t.equal(m.actor.getSnapshot().context.outbox.length, 3);
  t.same(m.of('outboxFull').map((e) => e.text), ['t3']);
});

t.test('EXIT: send EXIT, then left', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.joinHost('h', 1);
  m.actor.send({ type: 'USER_EXIT' });
  t.same(m.of('send').at(-1)!.commands, [{ type: 'EXIT' }]);
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'closed' });
  t.equal(m.actor.getSnapshot().status, 'done');
  t.equal(m.of('left').length, 1);
});

t.test('PROMOTE (a fellow member JOINed us first): a failover like any other, reported as one', async (t) => {
  const m = member('s1');
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 2 });
  m.joinHost('h', 2, [], ['s1']);
  m.actor.send({ type: 'PROMOTE' });
  t.same(m.of('failoverStarted').at(-1), { type: 'failoverStarted', hostId: 'h', epoch: 2, candidates: ['s1'] });
  t.equal(m.of('requestHost').at(-1)!.epoch, 3);
  t.equal(m.of('connect').at(-1)!.hostId, 's1');
});

t.test('a member never welcomed, orphaned by a live host it cannot reach, looks for the channel again and creates it if nobody hosts it any more (seed 35)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 6 });
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ETIMEDOUT' });
  t.equal(m.state(), 'orphaned', 'no history, no standbys, and h is not down: nobody to try');
  m.clock.advance(1000);
  t.equal(m.state(), 'resolving', 'after the retry period it looks again, as a new joiner');
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 6 });
  t.equal(m.of('connect').at(-1)!.hostId, 'h', 'still announced: h is tried again');
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ETIMEDOUT' });
  m.clock.advance(1000);
  t.equal(m.state(), 'resolving');
  m.clock.advance(500);
  t.same(m.of('requestHost').at(-1), { type: 'requestHost', epoch: 7, history: [], seen: EMPTY_SEEN, members: [] }, 'announced by nobody within the lookup time: hosted here, above the epoch it knew');
  t.equal(m.of('connect').at(-1)!.hostId, 'm');
});
