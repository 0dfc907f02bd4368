// Invariant violations and the exit codes they map to (TigerBeetle's VOPR
// habit: a crash, a liveness failure and a correctness failure exit
// differently, so a campaign script can tell them apart).

/**
 * The four invariants (docs/simulator.md has the precise definitions):
 * - hosting:  after the last heal plus the settle time, every live channel
 *             has exactly one host and every live member agrees on it;
 * - delivery: every acknowledged SAY reaches every member that stayed,
 *             exactly once, in the author's order (unless all holders died);
 * - liveness: no peer is marked disconnected while its PDUs were being
 *             delivered (figure 6);
 * - crash:    no exception escapes a node or the simulator.
 */
export type Invariant = 'hosting' | 'delivery' | 'liveness' | 'crash';

export interface Violation {
  invariant: Invariant;
  /** A short machine-readable kind, e.g. `two-hosts`, `missing`, `duplicate`. */
  kind: string;
  /** Virtual ms at which it happened or was found. */
  vt: number;
  /** The nodes involved, most relevant first. */
  nodes: string[];
  message: string;
}

/** Process exit codes of `chanmesh sim`. */
export const ExitCode = {
  pass: 0,
  /** Internal error of the simulator itself (a bug of sim/, not of the node). */
  internal: 1,
  /** Bad command-line arguments. */
  usage: 2,
  /** An exception escaped a node (a 'fault' event) or the simulated world. */
  crash: 127,
  /** The cluster did not converge after healing (hosting) or broke figure 6 (liveness). */
  liveness: 128,
  /** An acknowledged message was lost, duplicated or reordered (delivery). */
  correctness: 129,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const codeOf: Record<Invariant, ExitCodeValue> = {
  crash: ExitCode.crash,
  delivery: ExitCode.correctness,
  hosting: ExitCode.liveness,
  liveness: ExitCode.liveness,
};

/** Severity order when several invariants fail: crash, then correctness, then liveness. */
const severity: ExitCodeValue[] = [ExitCode.crash, ExitCode.correctness, ExitCode.liveness];

export function exitCodeFor(violations: readonly Violation[]): ExitCodeValue {
  const codes = new Set(violations.map((v) => codeOf[v.invariant]));
  return severity.find((code) => codes.has(code)) ?? ExitCode.pass;
}

/** The worst of several runs' exit codes (a campaign's). */
export function worstExitCode(codes: readonly number[]): number {
  for (const code of [ExitCode.internal, ...severity]) if (codes.includes(code)) return code;
  return codes.find((c) => c !== 0) ?? ExitCode.pass;
}

export function formatVt(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

export function formatViolation(v: Violation): string {
  return `[${v.invariant}/${v.kind}] t=${formatVt(v.vt)} nodes=${v.nodes.join(',') || '-'}: ${v.message}`;
}

/** Collects violations; bounded so that a broken run cannot eat the memory. */
export class Violations {
  readonly list: Violation[] = [];
  /** Violations beyond `max`, counted but not kept. */
  dropped = 0;

  constructor(private readonly max = 1000) {}

  add(v: Violation): void {
    if (this.list.length >= this.max) this.dropped++;
    // A node may be involved twice (the author that is also the host): named once.
    else this.list.push({ ...v, nodes: [...new Set(v.nodes)] });
  }

  get count(): number {
    return this.list.length + this.dropped;
  }

  byInvariant(): Record<Invariant, number> {
    const out: Record<Invariant, number> = { hosting: 0, delivery: 0, liveness: 0, crash: 0 };
    for (const v of this.list) out[v.invariant]++;
    return out;
  }
}
