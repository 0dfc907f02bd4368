// The freezes (SIGSTOP) of a run as spans of virtual time, for the delivery
// check. Two lookups of the same spans: by incarnation (a member's own node,
// a holder of a message) and by node id (a host is known by its id,
// whichever incarnation of it froze). A span is open until its node thaws
// or is killed.

/** A stretch of virtual time, `to` excluded (Infinity while it lasts). */
export interface Span {
  from: number;
  to: number;
}

/** Whether `span` covers some time from `from` to `to` (both included). */
export function overlaps(span: Span, from: number, to: number): boolean {
  return span.from <= to && from < span.to;
}

/** What identifies a frozen process: the incarnation itself (one object per start) and its node id. */
export interface Incarnation {
  readonly id: string;
}

export class Freezes {
  private readonly byIncarnation = new Map<Incarnation, Span[]>();
  private readonly byId = new Map<string, Span[]>();

  frozen(node: Incarnation, at: number): void {
    const span = { from: at, to: Number.POSITIVE_INFINITY };
    push(this.byIncarnation, node, span);
    push(this.byId, node.id, span);
  }

  /**
   * The freeze of `node` ends: it thawed, or it was killed. A frozen process
   * that is killed stays frozen no longer; were its span left open, the next
   * incarnation of its id would seem frozen for good as a host.
   */
  ended(node: Incarnation, at: number): void {
    const last = this.byIncarnation.get(node)?.at(-1);
    if (last !== undefined && last.to === Number.POSITIVE_INFINITY) last.to = at;
  }

  /** The freezes of this incarnation, in order. */
  of(node: Incarnation): readonly Span[] {
    return this.byIncarnation.get(node) ?? [];
  }

  /** The freezes of every incarnation of node `id`, in order. */
  ofId(id: string): readonly Span[] {
    return this.byId.get(id) ?? [];
  }

  /** Whether `node` was frozen at some time from `from` to `to`. */
  between(node: Incarnation, from: number, to: number): boolean {
    return this.of(node).some((span) => overlaps(span, from, to));
  }

  /** Whether `node` thawed at `at` (when it takes in what was queued for it while frozen). */
  thawedAt(node: Incarnation, at: number): boolean {
    return this.of(node).some((span) => span.to === at);
  }
}

function push<K>(map: Map<K, Span[]>, key: K, span: Span): void {
  const spans = map.get(key);
  if (spans === undefined) map.set(key, [span]);
  else spans.push(span);
}
