// The one reachability rule of the simulator: what the network drops by and
// the checkers judge by.
import t from 'tap';
import { CutState, Partitions } from '../../sim/partitions.ts';

t.test('a symmetric partition cuts both ways between groups, none within one; hosts in no group reach everyone', async (t) => {
  const cut = CutState.none.partitioned([['a', 'b'], ['c']]);
  t.ok(cut.active);
  t.ok(cut.blocks('a', 'c') && cut.blocks('c', 'a') && cut.blocks('b', 'c'));
  t.notOk(cut.blocks('a', 'b'), 'same side');
  t.notOk(cut.blocks('a', 'd') || cut.blocks('d', 'c'), 'd is in no group');
  t.notOk(cut.blocks('c', 'c'), 'a host reaches itself');
  t.throws(() => CutState.none.partitioned([['a'], ['a', 'b']]), /host a is in two partition groups/);
  t.notOk(CutState.none.active);
});

t.test('one-way cuts drop one direction, add up, and outlive a new partition; heal ends all', async (t) => {
  const p = new Partitions();
  p.partitionOneWay(['a'], ['b', 'a']);
  t.ok(p.blocks('a', 'b'));
  t.notOk(p.blocks('b', 'a'), 'the other way still works');
  t.notOk(p.blocks('a', 'a'), 'never from a host to itself');
  t.ok(p.state.separates('b', 'a'), 'separated, in one direction');
  p.partitionOneWay(['c'], ['a']);
  p.partition([['a'], ['d']]);
  t.ok(p.blocks('a', 'b') && p.blocks('c', 'a') && p.blocks('d', 'a'), 'both one-way cuts and the partition');
  const before = p.state;
  p.partition([['b'], ['d']]);
  t.notOk(p.blocks('d', 'a'), 'the partition is replaced');
  t.ok(p.blocks('a', 'b'), 'the one-way cuts stay');
  t.ok(before.blocks('d', 'a'), 'a snapshot does not change');
  p.heal();
  t.notOk(p.active);
  t.notOk(p.blocks('a', 'b'));
});
