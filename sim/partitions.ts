// Which host can reach which: a symmetric partition into groups plus any
// number of one-way cuts (TigerBeetle's packet simulator partitions, symmetric
// or not). A host always reaches itself.

export class Partitions {
  /** hostId -> index of its side; hosts in no group are cut off from nobody. */
  private sideOf = new Map<string, number>();
  /** "from\0to" pairs whose packets are dropped in that direction only. */
  private readonly oneWay = new Set<string>();

  /** Hosts in different groups can no longer reach each other; replaces the previous partition. */
  partition(groups: readonly (readonly string[])[]): void {
    const sideOf = new Map<string, number>();
    groups.forEach((group, side) => {
      for (const hostId of group) {
        if (sideOf.has(hostId)) throw new Error(`host ${hostId} is in two partition groups`);
        sideOf.set(hostId, side);
      }
    });
    this.sideOf = sideOf;
  }

  /** Packets from any of `from` to any of `to` are dropped; the reverse direction still works. */
  partitionOneWay(from: readonly string[], to: readonly string[]): void {
    for (const source of from) {
      for (const destination of to) {
        if (source !== destination) this.oneWay.add(cutKey(source, destination));
      }
    }
  }

  heal(): void {
    this.sideOf = new Map();
    this.oneWay.clear();
  }

  /** True when packets from `from` cannot reach `to` now. */
  blocks(from: string, to: string): boolean {
    if (from === to) return false;
    const fromSide = this.sideOf.get(from);
    const toSide = this.sideOf.get(to);
    if (fromSide !== undefined && toSide !== undefined && fromSide !== toSide) return true;
    return this.oneWay.size > 0 && this.oneWay.has(cutKey(from, to));
  }

  get active(): boolean {
    return this.sideOf.size > 0 || this.oneWay.size > 0;
  }
}

function cutKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
