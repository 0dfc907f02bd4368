// The node's memories of invites, both bounded however many come
// (docs/protocol.md 6, "Resource bounds"): what it announces as a host, and
// what was announced to it (news once).
import t from 'tap';
import { InvitesOut, InvitesSeen, INVITES_SEEN_MAX } from '../../lib/node/invites.ts';
import { MAX_PDU_INVITES } from '../../lib/wire/limits.ts';

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

t.test('a host announces each invite for its lifetime; sent again, it lives on from then', async (t) => {
  const out = new InvitesOut(10_000);
  out.sent({ channel: '@a', host: 'me', peerIds: ['p1'] }, 'm1', 0);
  out.sent({ channel: '@a', host: 'me', peerIds: ['p2'] }, 'm1', 5_000);
  t.same(out.current(9_999).map((i) => i.peerIds[0]), ['p1', 'p2']);
  t.same(out.current(10_000).map((i) => i.peerIds[0]), ['p2'], 'the first expired at 10 s');
  out.sent({ channel: '@a', host: 'me', peerIds: ['p2'] }, 'm1', 14_000);
  t.same(out.current(20_000).map((i) => i.peerIds[0]), ['p2'], 'renewed at 14 s, it lasts to 24 s');
  t.same(out.current(24_000), []);
});

t.test('a member sending INVITE after INVITE makes its host announce at most one PDU part of them, the newest', async (t) => {
  const out = new InvitesOut(10_000);
  for (let i = 0; i < 1_000; i++) out.sent({ channel: '@a', host: 'me', peerIds: [`p${i}`] }, 'mallory', i);
  const now = out.current(1_000);
  t.equal(now.length, MAX_PDU_INVITES);
  t.same(now[0]!.peerIds, [`p${1_000 - MAX_PDU_INVITES}`], 'the oldest went first');
});
