// The small decision rules, as docs/protocol.md section 5 states them.
import t from 'tap';
import { chooseFailoverHost, decideUnhostedJoin, hostingWins, nextNumber, ownIdVerdict, rankStandbys, type PeerLoad } from '../../machines/rules.ts';
import { MAX_WIRE_NUMBER } from '../../lib/wire/limits.ts';

const load = (o: Partial<PeerLoad> = {}): PeerLoad => ({ canHost: true, alive: true, hosted: 0, joined: new Set(), ...o });

t.test('split brain: higher epoch wins, then lower host id; exactly one of two hostings wins', async (t) => {
  t.ok(hostingWins({ hostId: 'z', epoch: 3 }, { hostId: 'a', epoch: 2 }));
  t.ok(hostingWins({ hostId: 'a', epoch: 2 }, { hostId: 'b', epoch: 2 }));
  t.notOk(hostingWins({ hostId: 'b', epoch: 2 }, { hostId: 'a', epoch: 2 }));
  const all = [{ hostId: 'a', epoch: 1 }, { hostId: 'b', epoch: 1 }, { hostId: 'a', epoch: 2 }];
  for (const x of all) for (const y of all) if (x !== y) t.not(hostingWins(x, y), hostingWins(y, x), 'antisymmetric');
});

t.test('standby ranking: able and alive only, fewest hosted, fewest other channels, lowest id; host excluded', async (t) => {
  const loads = new Map([
    ['h', load()],
    ['a', load({ hosted: 1 })],
    ['b', load({ joined: new Set(['#x', '#y']) })],
    ['c', load({ joined: new Set(['#x']) })],
    ['d', load({ alive: false })],
    ['e', load({ canHost: false })],
    ['f', load()],
  ]);
  t.same(rankStandbys('#x', ['h', 'a', 'b', 'c', 'd', 'e', 'f'], 'h', loads, 3), ['c', 'f', 'b']);
  t.same(rankStandbys('#x', ['h', 'a', 'b', 'c', 'd', 'e', 'f'], 'h', loads, 0), []);
  t.same(rankStandbys('#x', ['unknown'], 'h', loads, 2), [], 'a member not in the peer table (raw client) is no candidate');
});

t.test('failover target: first live untried standby, else the lowest live member, self included', async (t) => {
  const base = { standbys: ['s1', 's2'], members: ['h', 's1', 's2', 'c', 'b'], selfId: 'c' };
  t.equal(chooseFailoverHost({ ...base, down: new Set(), tried: new Set(['h']) }), 's1');
  t.equal(chooseFailoverHost({ ...base, down: new Set(['s1']), tried: new Set(['h']) }), 's2');
  t.equal(chooseFailoverHost({ ...base, down: new Set(['s1']), tried: new Set(['h', 's2']) }), 'b');
  t.equal(chooseFailoverHost({ ...base, down: new Set(['b', 's1']), tried: new Set(['h', 's2']) }), 'c');
  t.equal(chooseFailoverHost({ ...base, down: new Set(), tried: new Set(['h', 's1', 's2', 'b', 'c']) }), undefined);
});

t.test('a JOIN for a channel not hosted here: promote a member, redirect to a live host, or create', async (t) => {
  t.same(decideUnhostedJoin({ selfId: 'me', member: { hostId: 'h', epoch: 2 }, announced: { hostId: 'h', epoch: 2 } }), { action: 'promote' });
  // A member that hosted itself at start (epoch 0) while 'a' created the
  // channel: taking over at epoch 1 would lose to 'a' at 1, so join 'a'.
  t.same(decideUnhostedJoin({ selfId: 'me', member: { hostId: 'me', epoch: 0 }, announced: { hostId: 'a', epoch: 1 } }), { action: 'redirect', hostId: 'a', epoch: 1 });
  t.same(decideUnhostedJoin({ selfId: 'me', member: { hostId: 'me', epoch: 0 }, announced: { hostId: 'z', epoch: 1 } }), { action: 'promote' }, 'a takeover that would win');
  t.same(decideUnhostedJoin({ selfId: 'me', announced: { hostId: 'h', epoch: 2 } }), { action: 'redirect', hostId: 'h', epoch: 2 });
  t.same(decideUnhostedJoin({ selfId: 'me' }), { action: 'create', epoch: 1 });
  t.same(decideUnhostedJoin({ selfId: 'me', canCreate: false }), { action: 'refuse', reason: 'hosting limit reached' }, 'at the hosting limit no new channel');
  t.same(decideUnhostedJoin({ selfId: 'me', canCreate: false, announced: { hostId: 'h', epoch: 2 } }), { action: 'redirect', hostId: 'h', epoch: 2 }, 'at the limit a hosted one is still found');
  t.same(decideUnhostedJoin({ selfId: 'me', canCreate: false, member: { hostId: 'h', epoch: 2 } }), { action: 'promote' }, 'at the limit a takeover still happens');
  // F13: a member that is leaving will not take over; the joiner tries its next candidate.
  t.same(decideUnhostedJoin({ selfId: 'me', member: { hostId: 'h', epoch: 2, leaving: true }, announced: { hostId: 'h', epoch: 2 } }), { action: 'refuse', reason: 'leaving the channel' });
  t.same(decideUnhostedJoin({ selfId: 'me', member: { hostId: 'me', epoch: 0, leaving: true }, announced: { hostId: 'a', epoch: 1 } }), { action: 'redirect', hostId: 'a', epoch: 1 }, 'a winner known: sent there');
});

t.test('the next epoch or seq saturates at the largest wire number', async (t) => {
  t.equal(nextNumber(1), 2);
  t.equal(nextNumber(5, 3), 8);
  t.equal(nextNumber(MAX_WIRE_NUMBER - 1), MAX_WIRE_NUMBER);
  t.equal(nextNumber(MAX_WIRE_NUMBER), MAX_WIRE_NUMBER, 'a peer that sends 2^53-1 gets no 2^53 back');
  t.equal(nextNumber(MAX_WIRE_NUMBER, 40), MAX_WIRE_NUMBER);
  // At the top a takeover ties with the epoch it follows; the id decides (5.6).
  t.ok(hostingWins({ hostId: 'a', epoch: nextNumber(MAX_WIRE_NUMBER) }, { hostId: 'z', epoch: MAX_WIRE_NUMBER }));
});

t.test('ownIdVerdict: a newcomer gives way to a live process with its id; a node past its start announces over a newcomer once, then gives way', async (t) => {
  const detectionMs = 1000;
  const v = (o: { incarnation?: number; heard: { incarnation: number; rounds: number }; sinceStartMs: number; sinceOutbidMs?: number }) =>
    ownIdVerdict({ incarnation: 100, sinceOutbidMs: Number.POSITIVE_INFINITY, detectionMs, ...o });
  t.equal(v({ heard: { incarnation: 50, rounds: 1 }, sinceStartMs: 10 }), 'wait', 'one round: maybe a late datagram of our own dead process');
  t.equal(v({ heard: { incarnation: 50, rounds: 2 }, sinceStartMs: 300 }), 'stop', 'two rounds of another process, in our first detection time: we are the newcomer');
  t.equal(v({ heard: { incarnation: 150, rounds: 2 }, sinceStartMs: 300 }), 'stop', 'higher or lower alike: in the start window a node never outbids');
  t.equal(v({ heard: { incarnation: 150, rounds: 1 }, sinceStartMs: 5000 }), 'announce over it', 'past the window, a higher incarnation is announced over at once');
  t.equal(v({ heard: { incarnation: 50, rounds: 9 }, sinceStartMs: 5000 }), 'ignore', 'a lower one: peers prefer ours');
  t.equal(v({ heard: { incarnation: 150, rounds: 1 }, sinceStartMs: 5000, sinceOutbidMs: 200 }), 'stop', 'outbid again within a detection time: give way');
  t.equal(v({ heard: { incarnation: 150, rounds: 1 }, sinceStartMs: 5000, sinceOutbidMs: 1000 }), 'announce over it', 'a detection time later, a new newcomer');
});
