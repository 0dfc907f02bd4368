// channel-host: the server's decisions for one channel (draft 2.1, 2.3.1).
import t from 'tap';
import { createActor } from 'xstate';
import { channelHostMachine, type ChannelHostEmitted } from '../../machines/channel-host.ts';
import type { HistoryEntry } from '../../machines/history.ts';
import type { PeerLoad } from '../../machines/rules.ts';
import { encodeServerCommand } from '../../lib/wire/command.ts';
import { MAX_MEMBERS, MAX_WIRE_NUMBER } from '../../lib/wire/limits.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const load = (hosted = 0, joined: string[] = []): PeerLoad => ({ canHost: true, alive: true, hosted, joined: new Set(joined) });
const loads = new Map<string, PeerLoad>([
  ['h', load(1)],
  ['a', load()],
  ['b', load()],
  ['c', load(2)],
  ['d', load()],
]);

function host(history: HistoryEntry[] = [], standbyCount = 2, epoch = 1, takeover = false, historyLimit = 3) {
  const emitted: ChannelHostEmitted[] = [];
  const clock = new ManualClock();
  const actor = createActor(channelHostMachine, {
    clock,
    input: { channel: '#x', hostId: 'h', epoch, standbyCount, historyLimit, history, loads, relayWindowMs: 100, takeover, openingTimeoutMs: 2500 },
  });
  actor.on('*', (e) => emitted.push(e as ChannelHostEmitted));
  actor.start();
  const sends = () => emitted.filter((e): e is Extract<ChannelHostEmitted, { type: 'send' }> => e.type === 'send');
  const join = (peerId: string, connId = `c-${peerId}`) => actor.send({ type: 'JOIN', connId, peerId, loads });
  const ctx = () => actor.getSnapshot().context;
  return { actor, emitted, sends, join, ctx, clock, clear: () => emitted.splice(0) };
}

t.test('JOIN: the joiner gets WELCOME, history and standbys; everyone gets MEMBERS', async (t) => {
  const history = [{ seq: 7, authorId: 'a', text: 'old', msgId: 'm1' }];
  const h = host(history);
  h.join('a');
  t.same(h.sends()[0], {
    type: 'send',
    to: ['c-a'],
    commands: [
      { type: 'WELCOME', channel: '#x', epoch: 1, count: 1 },
      { type: 'SAY', authorId: 'a', text: 'old', msgId: 'm1', seq: 7 },
      { type: 'STANDBY', peerIds: ['a'] },
    ],
  });
  t.same(h.sends().at(-1), { type: 'send', to: ['c-a'], commands: [{ type: 'MEMBERS', peerIds: ['a'] }] });
  t.ok(h.emitted.some((e) => e.type === 'announce'), 'the PDU changes');
  h.clear();
  h.join('a');
  t.same(h.emitted, [], 'a repeated JOIN by the same member is ignored (draft 2.1)');
});

t.test(`a channel takes at most ${MAX_MEMBERS} members: a further joiner's connection is closed, a member's new connection still replaces its old one`, async (t) => {
  const h = host();
  for (let i = 0; i < MAX_MEMBERS; i++) h.join(`m${i}`);
  t.equal(h.ctx().members.length, MAX_MEMBERS);
  h.clear();
  h.join('one-too-many');
  t.same(h.emitted, [{ type: 'close', connId: 'c-one-too-many', reason: 'channel full' }], 'refused: closed, nothing sent, nobody told');
  t.equal(h.ctx().members.length, MAX_MEMBERS);
  h.clear();
  h.join('m7', 'c-m7-again');
  t.ok(h.emitted.some((e) => e.type === 'close' && e.connId === 'c-m7'), 'a member reconnecting at the bound replaces its old connection');
  t.ok(h.sends().some((s) => s.to.includes('c-m7-again') && s.commands[0]?.type === 'WELCOME'), 'and is welcomed');
  t.equal(h.ctx().members.length, MAX_MEMBERS);
  const members = h.sends().at(-1)!.commands[0]!;
  t.doesNotThrow(() => encodeServerCommand(members), 'its MEMBERS still encodes');
  h.actor.send({ type: 'EXIT', connId: 'c-m0', loads });
  h.clear();
  h.join('one-too-many');
  t.ok(h.sends().some((s) => s.to.includes('c-one-too-many') && s.commands[0]?.type === 'WELCOME'), 'once a member left, the next joiner is welcomed');
});

t.test("a joiner gets each author's messages in the author's order, even where relays put them out of order in the history", async (t) => {
  // Author a's message 2 was accepted before its message 1 came in as a
  // relay after a split brain (seed 109): the joiner still sees 1 before 2.
  const h = host([
    { seq: 4, authorId: 'a', text: 'second', msgId: '1.1-2' },
    { seq: 5, authorId: 'b', text: 'other', msgId: '1.1-1' },
    { seq: 6, authorId: 'a', text: 'first', msgId: '1.1-1', relayed: true },
  ]);
  h.join('j');
  const says = h.sends()[0]!.commands.filter((c) => c.type === 'SAY');
  t.same(says.map((c) => c.type === 'SAY' && [c.seq, c.authorId, c.text]), [[6, 'a', 'first'], [5, 'b', 'other'], [4, 'a', 'second']], 'each message with its own seq: the joiner can keep them in the host\'s order');
  t.same(h.ctx().history.map((e) => e.text), ['second', 'other', 'first'], "the host's own history is left as accepted");
});

t.test('standbys: ranked by load then id, announced only when the ranking changes', async (t) => {
  const h = host();
  h.join('c');
  h.join('b');
  t.same(h.ctx().standbys, ['b', 'c'], 'c hosts 2 channels, b none');
  h.clear();
  h.join('d');
  t.same(h.ctx().standbys, ['b', 'd']);
  t.same(
    h.sends().filter((s) => s.commands.some((c) => c.type === 'STANDBY')).map((s) => s.to),
    [['c-d'], ['c-c', 'c-b']],
    'the new ranking goes to everyone',
  );
  h.clear();
  h.join('a');
  t.same(h.ctx().standbys, ['a', 'b']);
  h.clear();
  h.actor.send({ type: 'EXIT', connId: 'c-c', loads });
  t.notOk(h.emitted.some((e) => e.type === 'standbysChanged'), 'c was no standby: no STANDBY');
});

t.test('SAY: one seq per message, standbys first in the fan-out, de-duplicated by author and msgId', async (t) => {
  const h = host();
  for (const p of ['a', 'b', 'd']) h.join(p);
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-d', text: 'hi', msgId: 'd1' });
  const fanOut = h.sends()[0]!;
  t.same(fanOut.to, ['c-a', 'c-b', 'c-d'], 'standbys a, b first');
  t.same(fanOut.commands, [{ type: 'SAY', authorId: 'd', text: 'hi', msgId: 'd1', seq: 1 }]);
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-d', text: 'hi', msgId: 'd1' });
  t.same(h.sends(), [{ type: 'send', to: ['c-d'], commands: [{ type: 'SAY', authorId: 'd', text: 'hi', msgId: 'd1', seq: 1 }] }], 'a re-sent SAY only echoes back to its author');
  h.clear();
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'd', text: 'hi', msgId: 'd1' });
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: 'lost', msgId: 'z9' });
  t.same(h.sends(), [], 'relays wait for the merge window');
  h.clock.advance(100);
  t.same(
    h.sends().map((s) => s.commands),
    [[{ type: 'SAY', authorId: 'z', text: 'lost', msgId: 'z9', seq: 2, relayed: true }], [{ type: 'MERGED' }]],
    'a relayed unknown message is delivered, marked as merged; a known one dropped',
  );
  t.same(h.sends().at(-1)!.to, ['c-a'], 'then the relaying member learns that its relays are decided');
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'legacy' });
  t.equal((h.sends().at(-1)!.commands[0] as { msgId: string }).msgId, '~1.3', 'a SAY without msgId is named by the host');
  for (let i = 0; i < 5; i++) h.actor.send({ type: 'SAY', connId: 'c-a', text: `n${i}`, msgId: `a${i}` });
  t.same(h.ctx().history.map((e) => e.text), ['n2', 'n3', 'n4'], 'history keeps the last --history messages');
});

/** What a send carries, for order assertions: a SAY's text, or MERGED and to whom. */
function sendLabel(send: Extract<ChannelHostEmitted, { type: 'send' }>): string {
  const command = send.commands[0]!;
  return command.type === 'MERGED' ? `MERGED to ${send.to.join(',')}` : (command as { text: string }).text;
}

t.test("a takeover host holds what it is sent for one relay window from its first JOIN: a burst of re-sent outboxes reaches every member back by then live, not through a WELCOME that is too short for it", async (t) => {
  // Seed 3, 8 nodes, --history 10 --rate 50: 11 re-sends in 6 ms, and the
  // member that rejoined 4 ms after them never got the first.
  const h = host([{ seq: 7, authorId: 'z', text: 'old', msgId: 'z1' }], 2, 2, true, 10); // holds up to 5 SAYs
  h.join('a');
  for (let i = 0; i < 4; i++) h.actor.send({ type: 'SAY', connId: 'c-a', text: `re-sent ${i}`, msgId: `a${i}` });
  t.same(h.sends().filter((s) => s.commands[0]!.type === 'SAY'), [], 'nothing accepted yet');
  h.join('b');
  const welcome = h.sends().find((s) => s.to[0] === 'c-b' && s.commands[0]!.type === 'WELCOME')!;
  t.same(welcome.commands.filter((c) => c.type === 'SAY').map((c) => (c as { text: string }).text), ['old'], "b's WELCOME: the inherited history");
  h.clear();
  h.clock.advance(100);
  const says = h.sends().filter((s) => s.commands[0]!.type === 'SAY');
  t.same(says.map(sendLabel), ['re-sent 0', 're-sent 1', 're-sent 2', 're-sent 3'], 'then all four, in order');
  t.ok(says.every((s) => s.to.includes('c-b')), 'to b as well');
  t.same(h.sends().filter((s) => s.commands[0]!.type === 'MERGED'), [], 'no relays: no MERGED');
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-b', text: 'live', msgId: 'b1' });
  t.equal(h.sends().length, 1, 'after the window SAYs go out at once');
  const fresh = host();
  fresh.join('a');
  fresh.actor.send({ type: 'SAY', connId: 'c-a', text: 'first', msgId: 'a1' });
  t.ok(fresh.sends().some((s) => s.commands[0]!.type === 'SAY'), 'a new channel holds nothing');
});

t.test('a re-sent SAY the host has seen but no longer holds is answered SEEN (F19)', async (t) => {
  const h = host(); // history 3
  for (const p of ['a', 'b']) h.join(p);
  for (let i = 0; i < 5; i++) h.actor.send({ type: 'SAY', connId: 'c-a', text: `n${i}`, msgId: `a${i}` });
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'n4', msgId: 'a4' });
  t.same(h.sends(), [{ type: 'send', to: ['c-a'], commands: [{ type: 'SAY', authorId: 'a', text: 'n4', msgId: 'a4', seq: 5 }] }], 'still in the history: its copy');
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'n0', msgId: 'a0' });
  t.same(h.sends()[0], { type: 'send', to: ['c-a'], commands: [{ type: 'SEEN', msgId: 'a0' }] }, 'out of the history: SEEN (and LATE to the others, below)');
  t.same(h.ctx().history.map((e) => e.msgId), ['a2', 'a3', 'a4'], 'nothing accepted again');
});

t.test('a known message offered again that the history no longer holds goes to the other members as LATE, outside the history', async (t) => {
  const h = host(); // history 3
  h.join('a');
  h.join('b');
  h.actor.send({ type: 'JOIN', connId: 'c-d', peerId: 'd', loads, legacy: true });
  for (let i = 0; i < 5; i++) h.actor.send({ type: 'SAY', connId: 'c-a', text: `n${i}`, msgId: `a${i}` });
  h.clear();
  // b relays n0 and n4 twice (two relaying members would do the same):
  // n4 is still in the history, n0 left it.
  for (const msgId of ['a0', 'a4', 'a0']) h.actor.send({ type: 'RELAY', connId: 'c-b', authorId: 'a', text: `n${msgId.slice(1)}`, msgId });
  h.clock.advance(100);
  t.same(
    h.sends(),
    [
      { type: 'send', to: ['c-a'], commands: [{ type: 'LATE', authorId: 'a', text: 'n0', msgId: 'a0' }] },
      { type: 'send', to: ['c-b'], commands: [{ type: 'MERGED' }] },
    ],
    'n0 once, to every chanmesh member but its offerer; n4, held, to nobody; the relayer learns its relays are decided',
  );
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'n1', msgId: 'a1' });
  t.same(
    h.sends(),
    [
      { type: 'send', to: ['c-a'], commands: [{ type: 'SEEN', msgId: 'a1' }] },
      { type: 'send', to: ['c-b'], commands: [{ type: 'LATE', authorId: 'a', text: 'n1', msgId: 'a1' }] },
    ],
    'a re-sent SAY out of the history: SEEN to its author, LATE to the others',
  );
  t.same(h.ctx().history.map((e) => e.msgId), ['a2', 'a3', 'a4'], 'the history is untouched');
  t.equal(h.ctx().nextSeq, 6, 'and no seq is used');
});

t.test('a takeover host given the largest seq the wire carries numbers on at it: every SAY still encodes', async (t) => {
  // A hostile host's SAY at seq 2^53-1, kept by a member that then took
  // over: lastSeq + 1 did not encode and the first SAY ended the process.
  const h = host([{ seq: MAX_WIRE_NUMBER, authorId: 'x', text: 'planted', msgId: 'x1' }], 2, 7, true);
  h.join('a');
  h.clock.advance(200);
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'one', msgId: 'a1' });
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'two', msgId: 'a2' });
  h.clock.advance(200);
  const says = h.sends().flatMap((s) => s.commands).filter((c) => c.type === 'SAY');
  t.same(says.map((c) => c.type === 'SAY' && c.seq), [MAX_WIRE_NUMBER, MAX_WIRE_NUMBER], 'numbered at the top, saturated');
  for (const c of says) t.doesNotThrow(() => encodeServerCommand(c));
});

t.test('a takeover host continues the seq of its history and knows its messages', async (t) => {
  const h = host([{ seq: 41, authorId: 'a', text: 'x', msgId: 'a1' }], 2, 5);
  h.join('a');
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'x', msgId: 'a1' });
  t.same(h.sends().map((s) => s.to), [['c-a']], 'already acknowledged before the takeover');
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'y', msgId: 'a2' });
  t.equal((h.sends().at(-1)!.commands[0] as { seq: number }).seq, 42);
});

t.test("a takeover host keeps the relays its member still waited on as relays: they do not push its side's said messages out (F15, seed 196, 10 nodes, 5x chat)", async (t) => {
  const said = [1, 2, 3].map((seq) => ({ seq, authorId: 'a', text: `said ${seq}`, msgId: `a${seq}` }));
  const pending = [4, 5].map((seq) => ({ seq, authorId: 'b', text: `relay ${seq}`, msgId: `b${seq}`, pending: true }));
  const h = host([...said, ...pending], 2, 5); // historyLimit 3
  t.same(h.ctx().history.map((e) => [e.text, e.relayed === true, 'pending' in e]), [
    ['said 1', false, false],
    ['said 2', false, false],
    ['said 3', false, false],
    ['relay 4', true, false],
    ['relay 5', true, false],
  ]);
  h.join('a');
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'said 6', msgId: 'a6' });
  t.same(h.ctx().history.map((e) => e.text), ['said 2', 'said 3', 'relay 4', 'relay 5', 'said 6'], 'one said message leaves for the new one, no relay counted as said');
});

t.test('EXIT closes the connection and updates the members; the last EXIT closes the channel', async (t) => {
  const h = host();
  h.join('a');
  h.join('b');
  h.clear();
  h.actor.send({ type: 'EXIT', connId: 'c-a', loads });
  t.ok(h.emitted.some((e) => e.type === 'close' && e.connId === 'c-a'), 'the server closes the connection after EXIT');
  t.same(h.sends().at(-1), { type: 'send', to: ['c-b'], commands: [{ type: 'MEMBERS', peerIds: ['b'] }] });
  h.actor.send({ type: 'CONNECTION_CLOSED', connId: 'c-b', loads });
  t.equal(h.actor.getSnapshot().value, 'closed');
  t.ok(h.emitted.some((e) => e.type === 'closed' && e.reason === 'empty'));
});

t.test('a dead standby is replaced at once', async (t) => {
  const h = host();
  for (const p of ['a', 'b', 'd']) h.join(p);
  h.clear();
  const withoutA = new Map(loads).set('a', { ...load(), alive: false });
  h.actor.send({ type: 'PEERS_CHANGED', loads: withoutA });
  t.same(h.ctx().standbys, ['b', 'd']);
  t.ok(h.sends().some((s) => s.commands.some((c) => c.type === 'STANDBY')));
});

t.test('split brain: a rival with a higher epoch (or equal epoch and lower id) wins; we MOVE our members', async (t) => {
  const lower = host(undefined, 2, 3);
  lower.join('a');
  lower.actor.send({ type: 'RIVAL_HOST', hostId: 'z', epoch: 2 });
  t.ok(lower.actor.getSnapshot().matches('hosting'), 'a lower epoch loses');
  lower.actor.send({ type: 'RIVAL_HOST', hostId: 'z', epoch: 3 });
  t.ok(lower.actor.getSnapshot().matches('hosting'), 'same epoch, higher id loses');
  lower.clear();
  lower.actor.send({ type: 'RIVAL_HOST', hostId: 'g', epoch: 3 });
  t.equal(lower.actor.getSnapshot().value, 'yielded', 'same epoch, lower id wins');
  t.same(lower.sends()[0], { type: 'send', to: ['c-a'], commands: [{ type: 'MOVED', hostId: 'g', epoch: 3 }] });
  t.ok(lower.emitted.some((e) => e.type === 'close' && e.connId === 'c-a'));
  t.ok(lower.emitted.some((e) => e.type === 'closed' && e.reason === 'yielded' && e.winner === 'g'));
});

t.test('relays from several members merge in the order of the seq they had; SAYs meanwhile follow them', async (t) => {
  const h = host();
  for (const p of ['a', 'b', 'd']) h.join(p);
  h.clear();
  // b lost z1 from its history: it relays z2 only, before a relays z1 and z2.
  h.actor.send({ type: 'RELAY', connId: 'c-b', authorId: 'z', text: 'two', msgId: 'z2', seq: 12 });
  h.actor.send({ type: 'SAY', connId: 'c-d', text: 'newer', msgId: 'd5' });
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: 'one', msgId: 'z1', seq: 11 });
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: 'two', msgId: 'z2', seq: 12 });
  t.same(h.sends(), [], 'held during the window');
  h.clock.advance(100);
  t.same(h.sends().map(sendLabel), ['one', 'two', 'newer', 'MERGED to c-b,c-a'], "z's order kept, the SAY after the relays, the duplicate dropped");
  h.clear();
  h.actor.send({ type: 'SAY', connId: 'c-d', text: 'live again', msgId: 'd6' });
  t.equal(h.sends().length, 1, 'after the window SAYs go out at once');
});

t.test("relays numbered by different hosts still merge in each author's order (their msgIds tell it)", async (t) => {
  // Found by a 20-node campaign (seeds 8 and 23): a and b had the channel
  // from hosts of different lineages; a's seqs put z's later message first.
  const h = host();
  for (const p of ['a', 'b']) h.join(p);
  h.clear();
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: 'later', msgId: '5.1-49', seq: 283 });
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'y', text: 'other author', msgId: 'y7', seq: 284 });
  h.actor.send({ type: 'RELAY', connId: 'c-b', authorId: 'z', text: 'earlier', msgId: '5.1-48', seq: 304 });
  h.clock.advance(100);
  t.same(h.sends().map(sendLabel), ['earlier', 'other author', 'later', 'MERGED to c-a,c-b'], "z's messages swap places; y's stays where its seq put it");
});

t.test('the relay window holds at most half a history of SAYs; the next SAY merges everything at once (F21)', async (t) => {
  // A release is one burst of echoes: a host that dies as it goes out leaves
  // some members with the burst and some without, and the ones with it keep
  // only the last historyLimit SAYs to relay. Until December 2026 a takeover
  // host held 90 at --history 10, and the head of the burst was lost.
  const h = host([], 2, 2, true, 10); // 5 SAYs at most
  h.join('a');
  h.clear();
  for (let i = 0; i < 5; i++) h.actor.send({ type: 'SAY', connId: 'c-a', text: `s${i}`, msgId: `a${i}` });
  for (let i = 0; i < 20; i++) h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: `r${i}`, msgId: `z${i}`, seq: i + 1 });
  t.same(h.sends(), [], 'five SAYs and any number of relays: held');
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 's5', msgId: 'a5' });
  t.equal(h.ctx().held.length, 0, 'the sixth SAY: everything merged');
  const labels = h.sends().map(sendLabel);
  t.same(labels.slice(0, 20), Array.from({ length: 20 }, (_, i) => `r${i}`), 'relays first, in seq order');
  t.same(labels.slice(20), ['s0', 's1', 's2', 's3', 's4', 's5', 'MERGED to c-a'], 'then the SAYs, then MERGED');
});

t.test('the relay window holds at most 4 x max(history, 64) messages; the next one merges at once', async (t) => {
  const h = host(); // history 3: the bound is 4 x 64 = 256
  h.join('a');
  h.clear();
  for (let i = 0; i < 255; i++) h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: `r${i}`, msgId: `z${i}`, seq: i });
  t.equal(h.ctx().held.length, 255);
  h.actor.send({ type: 'RELAY', connId: 'c-a', authorId: 'z', text: 'r255', msgId: 'z255', seq: 255 });
  t.equal(h.ctx().held.length, 256, 'at the bound: still held');
  t.same(h.sends(), []);
  h.actor.send({ type: 'SAY', connId: 'c-a', text: 'over', msgId: 'a1' });
  t.equal(h.ctx().held.length, 0, 'one over: everything merged now');
  t.equal(h.sends().length, 258);
  t.same(h.sends().slice(-2).map(sendLabel), ['over', 'MERGED to c-a'], 'in order, the SAY last, then MERGED');
});

t.test('a host nobody joins closes when its opening time is up (F22); a JOIN in time opens it', async (t) => {
  // Until December 2026 a channel whose creator's user left before its own
  // JOIN arrived was announced, empty, for good.
  const h = host();
  h.clock.advance(2499);
  t.equal(h.actor.getSnapshot().value, 'opening');
  h.clock.advance(1);
  t.same(h.emitted.filter((e) => e.type === 'closed'), [{ type: 'closed', reason: 'empty' }], 'closed as an empty channel');
  t.equal(h.actor.getSnapshot().status, 'done');
  const joined = host();
  joined.clock.advance(2000);
  joined.join('a');
  joined.clock.advance(5000);
  t.same(joined.emitted.filter((e) => e.type === 'closed'), [], 'joined in time: open');
});
