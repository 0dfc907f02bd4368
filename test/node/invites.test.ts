// The node's memories of invites, both bounded however many come
// (docs/protocol.md 6, "Resource bounds"): what it announces as a host, and
// what was announced to it (news once).
import fc from 'fast-check';
import t from 'tap';
import { InvitesOut, InvitesSeen, INVITES_SEEN_MAX } from '../../lib/node/invites.ts';
import { MAX_INVITE_IDS, MAX_PDU_INVITES } from '../../lib/wire/limits.ts';
import { encodePeerPdu } from '../../lib/wire/peer-pdu.ts';

const invite = (channel: string, host = 'h1') => ({ channel, host, peerIds: ['me'] });

t.test('an invite is news once; the same one announced again is not', async (t) => {
  const seen = new InvitesSeen();
  t.equal(seen.announced(invite('@a')), true);
  t.equal(seen.announced(invite('@a')), false);
  t.equal(seen.announced(invite('@a', 'h2')), true, 'another host inviting to the same name is another invite');
  t.equal(seen.hostOf('@a'), 'h2', 'a join goes to the host that invited last');
  t.equal(seen.hostOf('@b'), undefined);
});

t.test('a flood of invites keeps the memory at its bound and forgets the one announced longest ago first', async (t) => {
  const seen = new InvitesSeen();
  seen.announced(invite('@kept'));
  seen.announced(invite('@old'));
  for (let i = 0; i < INVITES_SEEN_MAX - 2; i++) seen.announced(invite(`@flood${i}`, 'mallory'));
  seen.announced(invite('@kept')); // announced again: renewed
  t.equal(seen.size, INVITES_SEEN_MAX, 'full');
  for (let i = 0; i < 10_000; i++) seen.announced(invite(`@more${i}`, 'mallory'));
  t.equal(seen.size, INVITES_SEEN_MAX, 'still at the bound after 10,000 more');
  t.equal(seen.hostOf('@old'), undefined, 'the oldest went first');
  t.equal(seen.announced(invite('@old')), true, 'and is news again if announced again');
});

t.test('of a full memory, the renewed invite outlives the ones announced after it less recently', async (t) => {
  const seen = new InvitesSeen(3);
  seen.announced(invite('@a'));
  seen.announced(invite('@b'));
  seen.announced(invite('@c'));
  seen.announced(invite('@a')); // renewed: @b is now the oldest
  seen.announced(invite('@d'));
  t.equal(seen.hostOf('@a'), 'h1');
  t.equal(seen.hostOf('@b'), undefined);
  t.equal(seen.size, 3);
});

t.test('a host announces each invited peer for its lifetime; invited again, it lives on from then', async (t) => {
  const out = new InvitesOut(10_000);
  out.sent({ channel: '@a', host: 'me', peerIds: ['p1'] }, 0);
  out.sent({ channel: '@a', host: 'me', peerIds: ['p2'] }, 5_000);
  t.same(out.current(9_999), [{ channel: '@a', host: 'me', peerIds: ['p1', 'p2'] }], "one entry for the channel, both peers in it");
  t.same(out.current(10_000), [{ channel: '@a', host: 'me', peerIds: ['p2'] }], 'p1 expired at 10 s');
  out.sent({ channel: '@a', host: 'me', peerIds: ['p2'] }, 14_000);
  t.same(out.current(20_000).map((i) => i.peerIds), [['p2']], 'renewed at 14 s, it lasts to 24 s');
  t.same(out.current(24_000), []);
});

t.test('INVITE after INVITE: at most 64 channels of at most 64 peers each, the newest', async (t) => {
  const out = new InvitesOut(10_000);
  for (let i = 0; i < 1_000; i++) out.sent({ channel: '@a', host: 'me', peerIds: [`p${i}`] }, i);
  const one = out.current(1_000);
  t.equal(one.length, 1, 'one channel, one entry');
  t.equal(one[0]!.peerIds.length, MAX_INVITE_IDS);
  t.equal(one[0]!.peerIds[0], `p${1_000 - MAX_INVITE_IDS}`, 'the oldest peers went first');
  for (let i = 0; i < 1_000; i++) out.sent({ channel: `@c${i}`, host: 'me', peerIds: ['p'] }, 1_000 + i);
  const many = out.current(2_000);
  t.equal(many.length, MAX_PDU_INVITES);
  t.equal(many[0]!.channel, `@c${1_000 - MAX_PDU_INVITES}`, 'the channel invited to longest ago went first');
});

t.test('whatever members send, what the host announces encodes (property)', async (t) => {
  const sends = fc.array(
    fc.record({ channel: fc.constantFrom('@a', '@b', '#c'), peerIds: fc.uniqueArray(fc.constantFrom('p1', 'p2', 'p3', 'p4'), { minLength: 1 }), at: fc.nat(30_000) }),
    { maxLength: 40 },
  );
  fc.assert(
    fc.property(sends, fc.nat(40_000), (list, now) => {
      const out = new InvitesOut(10_000);
      for (const s of [...list].sort((x, y) => x.at - y.at)) out.sent({ channel: s.channel, host: 'me', peerIds: s.peerIds }, s.at);
      const invites = out.current(now);
      encodePeerPdu({ version: 1, peerId: 'me', incarnation: 1, seq: 1, rev: 1, nick: 'me', port: 0, interval: 250, channels: [], memberships: [], invites, hidden: [] });
      return new Set(invites.map((i) => i.channel)).size === invites.length;
    }),
  );
  t.pass('every announcement encoded, one entry per channel');
});
