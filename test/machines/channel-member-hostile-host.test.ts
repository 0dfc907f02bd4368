// channel-member against hosts that do not keep chanmesh's rules: a legacy
// KIT host (no msgIds, no history), a host that never decides our relays, a
// flood of disconnections, MOVED in a circle. Each of these once ended the
// member's process, grew it without bound or spun it (the review of
// December 2026; docs/protocol.md 5.5, 5.6).
import fc from 'fast-check';
import t from 'tap';
import { DOWN_OTHERS_MAX } from '../../machines/channel-member.ts';
import { historyWindowMax } from '../../machines/history.ts';
import { encodeClientCommand, encodeServerCommand } from '../../lib/wire/command.ts';
import { isMsgId, isSayText } from '../../lib/wire/names.ts';
import { memberActor } from '../helpers/machine-inputs.ts';

const HISTORY_LIMIT = 10; // memberInput's
const WELCOME_TIMEOUT_MS = 2000; // memberInput's: a host without WELCOME is legacy after this

function member(selfId = 'm') {
  const m = memberActor(selfId);
  const context = () => m.actor.getSnapshot().context;
  /** Every command the member asked the node to write, encoded as the node's link does: a throw here ended the process. */
  const encodeAllSent = () => m.of('send').flatMap((e) => e.commands).forEach((c) => encodeClientCommand(c));
  return { ...m, context, encodeAllSent };
}

/** A legacy KIT host: no WELCOME; after the timeout the member takes it as joined. */
function joinLegacyHost(m: ReturnType<typeof member>, hostId: string, before: Array<[string, string]> = []) {
  m.actor.send({ type: 'HOST_FOUND', hostId, epoch: 1 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  for (const [authorId, text] of before) m.frame({ type: 'SAY', authorId, text });
  m.clock.advance(WELCOME_TIMEOUT_MS);
}

// ------------------------------------------------------------ legacy host

t.test('a legacy host: three equal lines are three messages, each shown once', async (t) => {
  const m = member();
  joinLegacyHost(m, 'h');
  t.equal(m.state(), 'joined');
  for (let i = 0; i < 3; i++) m.frame({ type: 'SAY', authorId: 'alice', text: 'ok' });
  const shown = m.of('deliver');
  t.same(shown.map((d) => `<${d.authorId}> ${d.text}`), ['<alice> ok', '<alice> ok', '<alice> ok'], 'exactly once each (5.5)');
  t.equal(new Set(shown.map((d) => d.msgId)).size, 3, 'three distinct ids');
});

t.test('a legacy host: the ids a member gives its SAYs are valid whatever the text, and nothing it sends fails to encode', async (t) => {
  const texts = ['hello world', 'grüße, 世界', 'x'.repeat(4096), '', '~ok'];
  const m = member();
  // SAYs before the member takes the host for legacy (no WELCOME yet), and after.
  joinLegacyHost(m, 'h', texts.map((text) => ['alice', text]));
  for (const text of texts) m.frame({ type: 'SAY', authorId: 'bob', text });
  const shown = m.of('deliver');
  t.equal(shown.length, 2 * texts.length, 'every frame shown');
  t.ok(shown.every((d) => isMsgId(d.msgId)), 'every id is 1-64 printable ASCII (2.2)');
  t.ok(shown.every((d) => d.msgId.startsWith('~') && d.msgId.includes(':')), 'marked as ours for a legacy message: never a chanmesh author id (no ~) nor a host-made ~epoch.seq (no :)');
  t.doesNotThrow(() => m.encodeAllSent(), 'the join (which relayed what the member held) encodes');
  t.same(m.context().history, [], 'kept out of the history: no other member knows these ids');
});

t.test('a legacy host dies: nothing of its stream is relayed to the next host, nor handed on by a takeover', async (t) => {
  const said: Array<[string, string]> = [
    ['alice', 'hello world'],
    ['alice', 'ok'],
    ['alice', 'ok'],
  ];
  // A member that fails over to the standby the legacy host named.
  const m = member();
  joinLegacyHost(m, 'h');
  m.frame({ type: 'STANDBY', peerIds: ['s1'] });
  for (const [authorId, text] of said) m.frame({ type: 'SAY', authorId, text });
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  t.equal(m.of('connect').at(-1)!.hostId, 's1');
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 2, count: 0 });
  t.equal(m.state(), 'joined');
  t.same(
    m.of('send').flatMap((e) => e.commands).filter((c) => c.type === 'RELAY'),
    [],
    'no RELAY: under the ids we gave them, every member that saw them would see them again',
  );
  t.doesNotThrow(() => m.encodeAllSent());

  // The standby itself takes over: its history, which the new host WELCOMEs joiners with.
  const s = member('s1');
  joinLegacyHost(s, 'h');
  s.frame({ type: 'STANDBY', peerIds: ['s1'] });
  for (const [authorId, text] of said) s.frame({ type: 'SAY', authorId, text });
  s.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  const request = s.of('requestHost').at(-1)!;
  t.equal(request.epoch, 2, 'it takes over');
  t.same(request.history, [], 'with nothing of the legacy stream');
  t.doesNotThrow(() => request.history.forEach((h) => encodeServerCommand({ type: 'SAY', authorId: h.authorId, text: h.text, msgId: h.msgId, seq: h.seq })), "the takeover's WELCOME encodes");
});

t.test("a legacy host echoes our SAY without its msgId: the outbox entry is settled, not re-sent at the next join", async (t) => {
  const m = member();
  joinLegacyHost(m, 'h');
  m.frame({ type: 'STANDBY', peerIds: ['s1'] });
  m.actor.send({ type: 'USER_SAY', text: 'mine' });
  m.actor.send({ type: 'USER_SAY', text: 'mine' });
  m.frame({ type: 'SAY', authorId: 'm', text: 'mine' });
  t.same(m.context().outbox.map((o) => o.msgId), ['p-2'], 'the oldest entry with that text is the one echoed (TCP keeps our order)');
  t.same(m.of('deliver').map((d) => [d.authorId, d.text, d.msgId]), [['m', 'mine', 'p-1']], 'shown once, as our own message');
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 2, count: 0 });
  t.same(m.of('send').at(-1)!.commands, [{ type: 'SAY', text: 'mine', msgId: 'p-2' }], 'only the unechoed one is re-sent');
});

t.test('a legacy host, any stream (property): each SAY shown once under a valid id of its own; the history holds none; every command sent encodes', async (t) => {
  const say = fc.record({
    authorId: fc.constantFrom('alice', 'bob', 'm'),
    text: fc.string({ unit: 'grapheme', maxLength: 80 }).filter(isSayText),
  });
  fc.assert(
    fc.property(fc.array(say, { maxLength: 30 }), fc.array(fc.constantFrom('mine', 'ok', 'a b'), { maxLength: 3 }), (stream, ours) => {
      const m = member();
      joinLegacyHost(m, 'h');
      m.frame({ type: 'STANDBY', peerIds: ['s1'] });
      for (const text of ours) m.actor.send({ type: 'USER_SAY', text });
      for (const s of stream) m.frame({ type: 'SAY', authorId: s.authorId, text: s.text });
      const shown = m.of('deliver');
      if (shown.length !== stream.length) return false;
      if (!shown.every((d, i) => d.authorId === stream[i]!.authorId && d.text === stream[i]!.text && isMsgId(d.msgId))) return false;
      if (new Set(shown.map((d) => `${d.authorId}\u0000${d.msgId}`)).size !== shown.length) return false;
      if (m.context().history.length !== 0) return false;
      // A failover to the standby: the join relays and re-sends; all of it must encode.
      m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
      m.actor.send({ type: 'CONNECTED', gen: m.gen() });
      m.frame({ type: 'WELCOME', channel: '#x', epoch: 2, count: 0 });
      m.encodeAllSent();
      return m.of('send').every((e) => e.commands.every((c) => c.type !== 'RELAY'));
    }),
    { numRuns: 300 },
  );
  t.pass('300 streams');
});

// ------------------------------------------------------------ relays pending

t.test('a host that never decides our relays: the history stays bounded, the relays pending longest dropped first (5.5)', async (t) => {
  const m = member();
  const window = historyWindowMax(HISTORY_LIMIT); // 30: what a WELCOME brings, at most
  let k = 0;
  const welcomes: string[][] = [];
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 5 });
  let relaysLast: string[] = [];
  for (let join = 0; join < 20; join++) {
    const sendsBefore = m.of('send').length;
    m.actor.send({ type: 'CONNECTED', gen: m.gen() });
    // A WELCOME of a full window of messages we never saw, no MERGED, and the connection drops.
    m.frame({ type: 'WELCOME', channel: '#x', epoch: 5, count: window });
    const ids: string[] = [];
    for (let i = 0; i < window; i++) {
      const msgId = `h${++k}`;
      ids.push(msgId);
      m.frame({ type: 'SAY', authorId: 'h', text: msgId, msgId, seq: k });
    }
    welcomes.push(ids);
    t.equal(m.state(), 'joined');
    relaysLast = m.of('send').slice(sendsBefore).flatMap((e) => e.commands).flatMap((c) => (c.type === 'RELAY' ? [c.msgId] : []));
    const history = m.context().history;
    const pending = history.filter((h) => h.pending);
    if (history.length > 2 * window || pending.length > window) {
      t.fail(`join ${join + 1}: history ${history.length}, pending ${pending.length}: beyond the bound`);
      break;
    }
    m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' }); // the fast path's one quick attempt: the same host
  }
  const history = m.context().history;
  t.equal(history.length, 2 * window, `the WELCOME and at most ${window} relays pending (was 30 more at every join)`);
  t.same(history.filter((h) => h.pending).map((h) => h.msgId), welcomes.at(-2), "the newest: the previous host's WELCOME; the older ones were relayed before");
  t.same(history.filter((h) => !h.pending).map((h) => h.msgId), welcomes.at(-1), "all of this host's WELCOME is kept");
  t.same(relaysLast, [...welcomes.at(-2)!, ...welcomes.at(-3)!], 'a join relays what it held: the last WELCOME and the relays still pending, no more');
  t.notOk(relaysLast.includes('h1'), 'the first relays are not relayed at every join for ever');
});

t.test('the bound keeps what honest failovers relay: a relay pending when its host dies is relayed again (F11)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  const said = Array.from({ length: 8 }, (_, i) => `a${i}`);
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 1, count: said.length });
  said.forEach((msgId, i) => m.frame({ type: 'SAY', authorId: 'a', text: msgId, msgId, seq: i + 1 }));
  m.frame({ type: 'STANDBY', peerIds: ['s1', 's2'] });
  const relays = () => m.of('send').flatMap((e) => e.commands).flatMap((c) => (c.type === 'RELAY' ? [c.msgId] : []));
  for (const [host, epoch] of [['s1', 2], ['s2', 3]] as const) {
    m.actor.send({ type: 'PEER_DOWN', peerId: m.context().hostId! });
    t.equal(m.of('connect').at(-1)!.hostId, host);
    m.emitted.splice(0);
    m.actor.send({ type: 'CONNECTED', gen: m.gen() });
    m.frame({ type: 'WELCOME', channel: '#x', epoch, count: 0 });
    t.same(relays(), said, `${host} lacks them: all relayed, in order`);
  }
});

// ------------------------------------------------------------ down list

t.test('PEER_DOWN of peers the channel does not name: a bounded few kept; the ones it names never pushed out', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 1, count: 0 });
  m.frame({ type: 'STANDBY', peerIds: ['s1', 's2'] });
  m.frame({ type: 'MEMBERS', peerIds: ['h', 's1', 's2', 'm', 'c'] });
  m.actor.send({ type: 'PEER_DOWN', peerId: 's1' }); // the first standby dies: the oldest entry
  for (let i = 0; i < 10_000; i++) m.actor.send({ type: 'PEER_DOWN', peerId: `ghost-${i}` });
  const down = [...m.context().down];
  t.ok(down.length <= 5 + 64, `${down.length} ids kept of 10,001 (was all of them)`);
  t.ok(down.includes('s1'), 'the dead standby is still known dead');
  t.ok(down.includes('ghost-9999') && !down.includes('ghost-0'), 'of the others, the latest');
  const ghosts = down.filter((id) => id.startsWith('ghost-'));
  t.equal(ghosts.length, DOWN_OTHERS_MAX, `at the bound: exactly the latest ${DOWN_OTHERS_MAX} others`);
  t.ok(ghosts.includes(`ghost-${10_000 - DOWN_OTHERS_MAX}`) && !ghosts.includes(`ghost-${10_000 - DOWN_OTHERS_MAX - 1}`), 'the one before them went first');
  m.actor.send({ type: 'PEER_DOWN', peerId: 'h' });
  t.equal(m.of('connect').at(-1)!.hostId, 's2', 'the failover skips the dead standby, as before the flood');
  m.actor.send({ type: 'PEER_UP', peerId: 's1' });
  t.notOk([...m.context().down].includes('s1'), 'discovered again: no longer down');
});

// ------------------------------------------------------------ MOVED

t.test('a host that answers MOVED to itself: the orphaned wait, not a loop', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'ha', epoch: 5 });
  for (let i = 0; i < 100 && m.state() === 'connecting'; i++) {
    m.actor.send({ type: 'CONNECTED', gen: m.gen() });
    m.frame({ type: 'MOVED', hostId: 'ha', epoch: 5 + i });
  }
  t.equal(m.of('connect').length, 1, 'one connect and JOIN (was one per round trip, ~2,500 a second)');
  t.equal(m.state(), 'orphaned', 'the wait of a member whose every candidate failed');
  t.same(m.of('moved'), [], 'not reported as a move');
  t.same(m.of('disconnect').at(-1), { type: 'disconnect', gen: m.gen() }, 'its connection is dropped');
  // Discovery still names it: one more attempt for each such news, as for any announced host that fails.
  m.actor.send({ type: 'HOST_FOUND', hostId: 'ha', epoch: 5 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'MOVED', hostId: 'ha', epoch: 5 });
  t.equal(m.of('connect').length, 2);
  t.equal(m.state(), 'orphaned');
});

t.test('two hosts that MOVE us to each other: the first MOVED is followed, the one back ends in the orphaned wait', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'ha', epoch: 5 });
  for (let i = 0; i < 100 && m.state() === 'connecting'; i++) {
    const at = m.of('connect').at(-1)!.hostId;
    m.actor.send({ type: 'CONNECTED', gen: m.gen() });
    m.frame({ type: 'MOVED', hostId: at === 'ha' ? 'hb' : 'ha', epoch: 5 });
  }
  t.same(m.of('connect').map((c) => c.hostId), ['ha', 'hb']);
  t.equal(m.state(), 'orphaned');
});

t.test('honest redirects are followed at once: one MOVED, and a chain of winners (a host that yielded in turn)', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'l', epoch: 3 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 3, count: 0 });
  m.frame({ type: 'MOVED', hostId: 'w', epoch: 4 });
  t.equal(m.of('connect').at(-1)!.hostId, 'w', 'the winner at once');
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'MOVED', hostId: 'x', epoch: 5 });
  t.equal(m.of('connect').at(-1)!.hostId, 'x', "the winner's winner at once");
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 5, count: 0 });
  t.equal(m.state(), 'joined');
  // Joined, the search is over: a later split brain may send us back to w.
  m.frame({ type: 'MOVED', hostId: 'w', epoch: 6 });
  t.equal(m.of('connect').at(-1)!.hostId, 'w');
  t.same(m.of('moved').map((e) => [e.from, e.hostId]), [['l', 'w'], ['w', 'x'], ['x', 'w']]);
});

t.test('a candidate that keeps sending us to the host we failed over from: followed once, then the orphaned wait, not a loop', async (t) => {
  const m = member();
  m.actor.send({ type: 'HOST_FOUND', hostId: 'h', epoch: 1 });
  m.actor.send({ type: 'CONNECTED', gen: m.gen() });
  m.frame({ type: 'WELCOME', channel: '#x', epoch: 1, count: 0 });
  m.frame({ type: 'STANDBY', peerIds: ['s1', 's2'] });
  m.actor.send({ type: 'CLOSED', gen: m.gen(), reason: 'reset' });
  // h is unreachable from here; s1 still hears h's PDUs and sends us there.
  const answer = () => {
    for (let i = 0; i < 100 && m.state() === 'connecting'; i++) {
      if (m.of('connect').at(-1)!.hostId === 'h') m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ETIMEDOUT' });
      else {
        m.actor.send({ type: 'CONNECTED', gen: m.gen() });
        m.frame({ type: 'MOVED', hostId: 'h', epoch: 1 });
      }
    }
  };
  m.actor.send({ type: 'CONNECT_FAILED', gen: m.gen(), code: 'ETIMEDOUT' }); // the quick reconnect
  answer();
  t.same(m.of('connect').map((c) => c.hostId), ['h', 'h', 's1', 'h', 's1'], 'the first MOVED followed (as before), the same one again is a circle (was h, s1, h, s1, ... for ever)');
  t.equal(m.state(), 'orphaned', 'and the member waits: no takeover of its own while a candidate still reaches h');
  m.clock.advance(1000); // memberInput's retry period
  answer();
  t.same(m.of('connect').map((c) => c.hostId).slice(5), ['s2', 'h', 's1'], 'after the retry period the search starts over (s2 hears h too), and stops again');
  t.equal(m.state(), 'orphaned');
});
