import t from 'tap';
import { SeededRandom } from '../../lib/random.ts';
import { MinHeap } from '../../sim/heap.ts';

interface Item {
  key: number;
  seq: number;
}

t.test('pops in (key, insertion) order whatever the insertion order', async (t) => {
  const random = new SeededRandom(7);
  const heap = new MinHeap<Item>();
  const items: Item[] = [];
  for (let seq = 0; seq < 5000; seq++) {
    const item = { key: Math.floor(random.next() * 100), seq }; // many equal keys: ties by seq
    items.push(item);
    heap.push(item, item.key, item.seq);
  }
  const popped: Item[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) popped.push(item);
  t.same(popped, [...items].sort((a, b) => a.key - b.key || a.seq - b.seq));
  t.equal(heap.size, 0);
  t.equal(heap.pop(), undefined);
});

t.test('retain drops items and keeps the heap order', async (t) => {
  const heap = new MinHeap<Item>();
  for (let seq = 0; seq < 1000; seq++) heap.push({ key: (seq * 7919) % 1000, seq }, (seq * 7919) % 1000, seq);
  heap.retain((item) => item.key % 3 === 0);
  const keys: number[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) keys.push(item.key);
  t.equal(keys.length, 334);
  t.ok(keys.every((key, i) => key % 3 === 0 && (i === 0 || (keys[i - 1] as number) <= key)));
});

t.test('updateTop re-keys the top in place; topKey follows', async (t) => {
  const random = new SeededRandom(3);
  const heap = new MinHeap<Item>();
  t.equal(heap.topKey, Number.POSITIVE_INFINITY, 'empty: Infinity');
  const items: Item[] = [];
  for (let seq = 0; seq < 200; seq++) {
    const item = { key: Math.floor(random.next() * 50), seq };
    items.push(item);
    heap.push(item, item.key, item.seq);
  }
  // A series' steps: the top moves later (ties with equal keys stay by seq), 1000 times.
  let wrongTops = 0;
  for (let i = 0; i < 1000; i++) {
    const top = heap.peek() as Item;
    const least = [...items].sort((a, b) => a.key - b.key || a.seq - b.seq)[0];
    if (top !== least || heap.topKey !== top.key) wrongTops++;
    top.key += Math.floor(random.next() * 20);
    heap.updateTop(top.key);
  }
  t.equal(wrongTops, 0, 'the least (key, seq) on top after every re-key');
  const keys: number[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) keys.push(item.key);
  t.equal(keys.length, 200);
  t.ok(keys.every((key, i) => i === 0 || (keys[i - 1] as number) <= key), 'still a heap');
});
