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
