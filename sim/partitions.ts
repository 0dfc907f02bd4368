// Which host can reach which: a symmetric partition into groups plus any
// number of one-way cuts (TigerBeetle's packet simulator partitions, symmetric
// or not). A host always reaches itself. One rule, CutState.blocks: the
// network drops by it, and the checkers judge by the same snapshots.

/** An immutable snapshot of the cuts: a symmetric partition plus one-way cuts. */
export class CutState {
  static readonly none = new CutState(undefined, []);
  /** hostId -> index of its side; hosts in no group are cut off from nobody. */
  private readonly sideOf = new Map<string, number>();
  /** "from\0to" pairs whose packets are dropped in that direction only. */
  private readonly oneWayKeys: ReadonlySet<string>;

  constructor(
    readonly groups: readonly (readonly string[])[] | undefined,
    readonly oneWay: readonly (readonly [string, string])[],
  ) {
    groups?.forEach((group, side) => {
      for (const hostId of group) {
        if (this.sideOf.has(hostId)) throw new Error(`host ${hostId} is in two partition groups`);
        this.sideOf.set(hostId, side);
      }
    });
    this.oneWayKeys = new Set(oneWay.map(([from, to]) => cutKey(from, to)));
  }

  /** These groups instead of the present partition; one-way cuts stay. */
  partitioned(groups: readonly (readonly string[])[]): CutState {
    return new CutState(groups, this.oneWay);
  }

  /** Packets from any of `from` to any of `to` dropped as well; the reverse direction still works. */
  withOneWay(from: readonly string[], to: readonly string[]): CutState {
    const oneWay = [...this.oneWay];
    for (const source of from) for (const destination of to) if (source !== destination) oneWay.push([source, destination]);
    return new CutState(this.groups, oneWay);
  }

  get active(): boolean {
    return this.groups !== undefined || this.oneWay.length > 0;
  }

  /** True when packets from `from` cannot reach `to`. */
  blocks(from: string, to: string): boolean {
    if (from === to) return false;
    const fromSide = this.sideOf.get(from);
    const toSide = this.sideOf.get(to);
    if (fromSide !== undefined && toSide !== undefined && fromSide !== toSide) return true;
    return this.oneWayKeys.size > 0 && this.oneWayKeys.has(cutKey(from, to));
  }

  /** Cut in either direction. */
  separates(a: string, b: string): boolean {
    return this.blocks(a, b) || this.blocks(b, a);
  }
}

/** The network's cuts now: a CutState replaced at every partition and heal. */
export class Partitions {
  private cut = CutState.none;

  /** Hosts in different groups can no longer reach each other; replaces the previous partition. */
  partition(groups: readonly (readonly string[])[]): void {
    this.cut = this.cut.partitioned(groups);
  }

  /** Packets from any of `from` to any of `to` are dropped; the reverse direction still works. */
  partitionOneWay(from: readonly string[], to: readonly string[]): void {
    this.cut = this.cut.withOneWay(from, to);
  }

  heal(): void {
    this.cut = CutState.none;
  }

  /** True when packets from `from` cannot reach `to` now. */
  blocks(from: string, to: string): boolean {
    return this.cut.blocks(from, to);
  }

  get active(): boolean {
    return this.cut.active;
  }

  /** The cuts now, as a snapshot. */
  get state(): CutState {
    return this.cut;
  }
}

function cutKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
