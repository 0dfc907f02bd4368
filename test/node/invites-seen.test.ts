// The node's memory of invites announced to it: news once, bounded however
// many a peer announces (docs/protocol.md 6, "Untrusted input").
import t from 'tap';
import { InvitesSeen, INVITES_SEEN_MAX } from '../../lib/node/invites-seen.ts';

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
