// The delivery check's freeze spans: by incarnation and by node id, and a
// process killed while frozen ends its freeze (else the next incarnation of
// its id would seem frozen for good as a host, and excuse every message).
import t from 'tap';
import { Freezes, overlaps } from '../../sim/freezes.ts';

t.test('a freeze is a span from freeze to thaw, under its incarnation and its id', async (t) => {
  const freezes = new Freezes();
  const n1 = { id: 'n1' };
  freezes.frozen(n1, 100);
  t.same(freezes.of(n1), [{ from: 100, to: Infinity }], 'open while frozen');
  t.ok(freezes.between(n1, 5_000, 6_000), 'frozen at any later time');
  freezes.ended(n1, 300);
  t.same(freezes.of(n1), [{ from: 100, to: 300 }]);
  t.same(freezes.ofId('n1'), [{ from: 100, to: 300 }], 'the same span by id');
  t.ok(freezes.between(n1, 299, 400), 'overlaps its last moment');
  t.notOk(freezes.between(n1, 300, 400), 'thawed at 300');
  t.ok(freezes.thawedAt(n1, 300), 'and what it took in at 300 came with its thaw');
  t.notOk(freezes.thawedAt(n1, 301));
  t.notOk(freezes.between(n1, 0, 99), 'not yet frozen');
  t.same(freezes.ofId('n2'), [], 'another node: none');
});

t.test('a node killed while frozen: its span ends; the next incarnation has its own', async (t) => {
  const freezes = new Freezes();
  const first = { id: 'n1' };
  freezes.frozen(first, 1_000);
  freezes.ended(first, 2_000); // crashed while frozen
  const second = { id: 'n1' }; // restarted: a new incarnation of the same id
  t.same(freezes.of(second), [], 'the restart was never frozen');
  t.notOk(
    freezes.ofId('n1').some((span) => overlaps(span, 3_000, 10_000)),
    'as a host (known by id), n1 is not frozen after the crash',
  );
  freezes.frozen(second, 5_000);
  freezes.ended(second, 6_000);
  t.same(freezes.ofId('n1'), [{ from: 1_000, to: 2_000 }, { from: 5_000, to: 6_000 }], 'both incarnations, in order');
  t.same(freezes.of(first), [{ from: 1_000, to: 2_000 }]);
  freezes.ended(second, 9_000);
  t.same(freezes.of(second), [{ from: 5_000, to: 6_000 }], 'ending a freeze that is over changes nothing (a crash after the thaw)');
});
