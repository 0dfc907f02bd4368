// What a node leaves out of its PeerPDU when it would not fit one round of
// 48 datagrams, in order: member lists, then memberships and invites, then
// standby lists; the hosted channels themselves stay.
import t from 'tap';
import { encodeTrimmed } from '../../lib/node/pdu-trim.ts';
import { PduAssembler } from '../../lib/wire/pdu-assembler.ts';
import { decodePeerPduPart, type PeerPdu } from '../../lib/wire/peer-pdu.ts';

const long = (prefix: string, i: number, length = 64) => `${prefix}${i}`.padEnd(length, 'x');
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => long(prefix, i));

function pdu(p: Partial<PeerPdu>): PeerPdu {
  return { version: 1, peerId: 'me', incarnation: 1, seq: 1, rev: 1, nick: 'me', port: 50000, interval: 250, channels: [], memberships: [], invites: [], hidden: [], ...p };
}

const channels = (n: number, standbys: number, members: number) =>
  Array.from({ length: n }, (_, i) => ({ name: long('#c', i), epoch: 1, standbys: ids('s', standbys), members: ids('m', members) }));

/** The PDU the datagrams carry, put together again as a receiver does. */
function received(datagrams: Buffer[]): PeerPdu {
  const assembler = new PduAssembler();
  let whole: PeerPdu | undefined;
  for (const d of datagrams) whole = assembler.add(decodePeerPduPart(d)) ?? whole;
  return whole!;
}

t.test('a PDU that fits is sent whole', async (t) => {
  const { datagrams, dropped } = encodeTrimmed(pdu({ channels: channels(3, 2, 5) }));
  t.equal(dropped, undefined);
  t.same(received(datagrams).channels[0]!.members.length, 5);
});

t.test('member lists go first', async (t) => {
  const { datagrams, dropped } = encodeTrimmed(pdu({ channels: channels(100, 2, 40) }));
  t.equal(dropped, 'members');
  const back = received(datagrams);
  t.equal(back.channels.length, 100, 'every channel announced');
  t.ok(back.channels.every((c) => c.members.length === 0 && c.standbys.length === 2));
});

t.test('then memberships and invites', async (t) => {
  const memberships = Array.from({ length: 60 }, (_, i) => ({ host: long('h', i), channels: ids('#j', 30) }));
  const { datagrams, dropped } = encodeTrimmed(pdu({ channels: channels(10, 2, 0), memberships }));
  t.equal(dropped, 'members, memberships, invites');
  const back = received(datagrams);
  t.equal(back.memberships.length, 0);
  t.equal(back.channels.length, 10);
});

t.test('then standby lists: 256 channels of the longest names with 8 standbys of the longest ids still announced', async (t) => {
  const { datagrams, dropped } = encodeTrimmed(pdu({ channels: channels(256, 8, 0) }));
  t.equal(dropped, 'members, memberships, invites, standbys');
  const back = received(datagrams);
  t.equal(back.channels.length, 256);
  t.ok(back.channels.every((c) => c.standbys.length === 0));
  t.ok(datagrams.length <= 48);
});

t.test('past what even the last form carries, encoding throws (the node reports a fault)', async (t) => {
  t.throws(() => encodeTrimmed(pdu({ channels: channels(1200, 0, 0) })), /48 datagrams/);
});

t.test('an invalid PDU throws its own error, not a size error', async (t) => {
  // A private '@' channel may only appear in an invite: a bug of the caller, not a size.
  t.throws(() => encodeTrimmed(pdu({ channels: [{ name: '@secret', epoch: 1, standbys: [], members: [] }] })), /private|@/);
});
