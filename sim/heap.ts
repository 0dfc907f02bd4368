// A binary min-heap: the simulator's timeline pops thousands of timers per
// virtual second, so insert and pop must be O(log n) and nothing may ever
// re-sort the whole set (XState's SimulatedClock does, see the style guide).
// Node has no priority queue, hence this small one.
//
// Items are ordered by two numbers given with them, (key, tie): the
// timeline's (time, sequence). The numbers live in typed arrays beside the
// items, so comparing two entries reads no object (at ~40,000 multicast
// copies per virtual second, property loads on two kinds of entries were
// most of the timeline's cost).

export class MinHeap<T> {
  private readonly items: T[] = [];
  private keys = new Float64Array(64);
  private ties = new Float64Array(64);

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** The key of the top item (Infinity when empty). */
  get topKey(): number {
    return this.items.length > 0 ? (this.keys[0] as number) : Number.POSITIVE_INFINITY;
  }

  /** Add `item` at (key, tie); (key, tie) pairs must be unique for a total order. */
  push(item: T, key: number, tie: number): void {
    const index = this.items.length;
    if (index === this.keys.length) this.grow();
    this.items.push(item);
    this.siftUp(index, item, key, tie);
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    const length = items.length;
    if (length > 0 && last !== undefined) this.siftDown(0, last, this.keys[length] as number, this.ties[length] as number);
    return top;
  }

  /**
   * The top item now sorts at `key` (not earlier than before; its tie stays):
   * sink it to its place. One sift-down, where a pop and a push would take two.
   */
  updateTop(key: number): void {
    const top = this.items[0];
    if (top !== undefined) this.siftDown(0, top, key, this.ties[0] as number);
  }

  /** Keep only the items `keep` accepts and restore the heap in O(n) (Floyd). */
  retain(keep: (item: T) => boolean): void {
    const { items, keys, ties } = this;
    let kept = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as T;
      if (!keep(item)) continue;
      items[kept] = item;
      keys[kept] = keys[i] as number;
      ties[kept] = ties[i] as number;
      kept++;
    }
    items.length = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.siftDown(i, items[i] as T, keys[i] as number, ties[i] as number);
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const ties = new Float64Array(this.ties.length * 2);
    keys.set(this.keys);
    ties.set(this.ties);
    this.keys = keys;
    this.ties = ties;
  }

  /** Place (item, key, tie) at `index` or above: a hole moves up instead of swapping. */
  private siftUp(index: number, item: T, key: number, tie: number): void {
    const { items, keys, ties } = this;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentKey = keys[parent] as number;
      if (key > parentKey || (key === parentKey && tie > (ties[parent] as number))) break;
      items[index] = items[parent] as T;
      keys[index] = parentKey;
      ties[index] = ties[parent] as number;
      index = parent;
    }
    items[index] = item;
    keys[index] = key;
    ties[index] = tie;
  }

  /** Place (item, key, tie) at `index` or below. */
  private siftDown(index: number, item: T, key: number, tie: number): void {
    const { items, keys, ties } = this;
    const length = items.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      let childKey = keys[child] as number;
      let childTie = ties[child] as number;
      const right = child + 1;
      if (right < length) {
        const rightKey = keys[right] as number;
        const rightTie = ties[right] as number;
        if (rightKey < childKey || (rightKey === childKey && rightTie < childTie)) {
          child = right;
          childKey = rightKey;
          childTie = rightTie;
        }
      }
      if (key < childKey || (key === childKey && tie < childTie)) break;
      items[index] = items[child] as T;
      keys[index] = childKey;
      ties[index] = childTie;
      index = child;
    }
    items[index] = item;
    keys[index] = key;
    ties[index] = tie;
  }
}
