// The members of the fan-out benchmark: raw KIT clients that speak only
// docs/protocol.md (no chanmesh code), tuned to cost the bench process as
// little as possible per delivery:
// - frames are parsed in place from the socket chunk (no string split, no
//   per-frame Buffer.concat); only the author, msgId and send timestamp are
//   read, as bytes;
// - every delivery is counted per (member, message) in a Uint8Array, so
//   duplicates and losses are exact;
// - one receive timestamp per socket chunk (every frame of a chunk arrived
//   together).
//
// Timestamps are process.hrtime() in microseconds: CLOCK_MONOTONIC, the same
// clock in every process of the machine, so a member in a worker process can
// measure a message sent by another process.
//
// Senders respect backpressure twice: at most `window` of their messages are
// unacknowledged (not yet echoed back by the host), and nothing is written
// while the socket reports a full buffer ('drain').
import net from 'node:net';

export const TEXT_BYTES = 64;
const STAMP_DIGITS = 16;
const SAY_PREFIX = Buffer.from('SAY\0', 'latin1');
const NUL = 0;

export interface SenderPlan {
  /** Messages this sender says. */
  count: number;
  /** 'flood': as fast as the window allows; 'paced': `rate` messages/s. */
  mode: 'flood' | 'paced';
  /** Unacknowledged messages at most (flood mode; paced mode uses it as a safety bound). */
  window: number;
  /** Messages per second of this sender (paced mode). */
  rate: number;
}

export interface GroupConfig {
  port: number;
  channel: string;
  /** The ids of the members run here: `m000` ... (3 digits). */
  members: string[];
  /** Member index (global, from the id) -> sender number, for every sender of the whole run. */
  senders: Record<string, number>;
  /** Members expected in the channel (all groups together). */
  totalMembers: number;
  /** Messages each sender says (all senders say the same number). */
  perSender: number;
  plan: SenderPlan;
  /** Keep every latency sample (else none are kept). */
  keepLatencies: boolean;
}

export interface GroupResult {
  members: number;
  deliveries: number;
  unique: number;
  duplicates: number;
  missing: number;
  /** Frames that were no SAY of a known sender (WELCOME, MEMBERS ... are counted apart). */
  unexpected: number;
  controlFrames: number;
  firstSendUs: number;
  lastSendUs: number;
  firstDeliveryUs: number;
  lastDeliveryUs: number;
  /** Latencies in ms, one per unique delivery (Float32Array). */
  latencies: Float32Array;
  /** Bench-side CPU time used during the run (this process), ms. */
  cpuMs: number;
  sendStalls: number;
  /** Members whose connection the host closed during the run. */
  disconnected: string[];
}

export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}

/** Encode a JOIN (the only frame built without the fast path). */
function frame(fields: string[]): Buffer {
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function parseDecimal(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

class Member {
  readonly index: number;
  /** counts[sender * perSender + msgNo] = deliveries of that message here. */
  readonly counts: Uint8Array;
  unique = 0;
  deliveries = 0;
  unexpected = 0;
  controlFrames = 0;
  firstDeliveryUs = 0;
  lastDeliveryUs = 0;
  membersSeen = 0;
  /** Got everything (or was disconnected): counted once in the group's `done`. */
  finished = false;
  private rest: Buffer | undefined;
  private socket!: net.Socket;
  // sender side
  sent = 0;
  inflight = 0;
  firstSendUs = 0;
  lastSendUs = 0;
  stalls = 0;
  private blocked = false;
  private started = false;
  private pacer: NodeJS.Timeout | undefined;
  private pacedStartUs = 0;

  constructor(
    readonly id: string,
    private readonly group: MemberGroup,
    /** This member's sender number, or -1. */
    readonly senderNo: number,
  ) {
    this.index = Number(id.slice(1));
    this.counts = new Uint8Array(group.config.perSender * Object.keys(group.config.senders).length);
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.group.config.port, noDelay: true }, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.group.fail(`${this.id}: ${e.message}`));
        socket.on('close', () => this.group.closed(this));
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('drain', () => {
          this.blocked = false;
          this.pump();
        });
        socket.write(frame(['JOIN', this.group.config.channel, this.id]));
        resolve();
      });
      socket.once('error', reject);
      this.socket = socket;
    });
  }

  close(): void {
    if (this.pacer) clearInterval(this.pacer);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const now = nowUs();
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= 4) {
      const len = buf.readUInt32BE(off);
      const bodyEnd = off + 4 + len;
      if (bodyEnd > end) break;
      this.onFrame(buf, off + 4, bodyEnd, now);
      off = bodyEnd;
    }
    if (off < end) this.rest = buf.subarray(off);
    if (this.senderNo >= 0) this.pump();
  }

  private onFrame(buf: Buffer, start: number, end: number, now: number): void {
    // SAY authorId text msgId seq
    if (buf[start] === 0x53 && buf[start + 1] === 0x41 && buf[start + 2] === 0x59 && buf[start + 3] === NUL) {
      const aStart = start + 4;
      const aEnd = buf.indexOf(NUL, aStart);
      const tEnd = buf.indexOf(NUL, aEnd + 1);
      const mEnd = buf.indexOf(NUL, tEnd + 1);
      if (aEnd < 0 || tEnd < 0 || mEnd < 0 || mEnd >= end || buf[aStart] !== 0x6d /* m */) {
        this.unexpected++;
        return;
      }
      const author = parseDecimal(buf, aStart + 1, aEnd);
      const senderNo = this.group.senderOfIndex[author] ?? -1;
      const msgNo = parseDecimal(buf, tEnd + 1, mEnd);
      if (senderNo < 0 || msgNo < 0 || msgNo >= this.group.config.perSender) {
        this.unexpected++;
        return;
      }
      this.deliveries++;
      const k = senderNo * this.group.config.perSender + msgNo;
      const c = this.counts[k]!;
      if (c < 255) this.counts[k] = c + 1;
      if (c !== 0) return; // a duplicate: counted, not timed
      if (this.unique++ === 0) this.firstDeliveryUs = now;
      this.lastDeliveryUs = now;
      if (senderNo === this.senderNo) this.inflight--;
      const sentUs = parseDecimal(buf, aEnd + 1, aEnd + 1 + STAMP_DIGITS);
      this.group.recordLatency((now - sentUs) / 1000);
      if (this.unique === this.counts.length) this.group.memberDone(this);
      return;
    }
    this.controlFrames++;
    // MEMBERS id ... : count the ids (NULs after the name).
    if (buf[start] === 0x4d && buf.toString('latin1', start, start + 8) === 'MEMBERS\0') {
      let n = 0;
      for (let i = start + 8; i < end; i++) if (buf[i] === NUL) n++;
      this.membersSeen = n;
      this.group.membersChanged();
    }
  }

  /** Start saying (senders only). */
  start(): void {
    const plan = this.group.config.plan;
    this.started = true;
    if (plan.mode === 'paced') {
      this.pacedStartUs = nowUs();
      this.pacer = setInterval(() => this.pump(), 2);
    }
    this.pump();
  }

  /** Write as many messages as the plan, the window and the socket allow, in one write. */
  pump(): void {
    if (!this.started || this.senderNo < 0 || this.blocked || this.sent >= this.group.config.perSender) return;
    const plan = this.group.config.plan;
    let n = Math.min(plan.window - this.inflight, this.group.config.perSender - this.sent);
    if (plan.mode === 'paced') {
      const due = Math.min(this.group.config.perSender, Math.floor(((nowUs() - this.pacedStartUs) / 1e6) * plan.rate) + 1);
      n = Math.min(n, due - this.sent);
    }
    if (n <= 0) return;
    const now = nowUs();
    const stamp = Math.floor(now).toString().padStart(STAMP_DIGITS, '0');
    const chunks: Buffer[] = [];
    for (let i = 0; i < n; i++) chunks.push(this.sayFrame(stamp, this.sent + i));
    if (this.sent === 0) this.firstSendUs = now;
    this.sent += n;
    this.inflight += n;
    this.lastSendUs = now;
    if (this.sent >= this.group.config.perSender && this.pacer) {
      clearInterval(this.pacer);
      this.pacer = undefined;
    }
    if (!this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))) {
      this.blocked = true;
      this.stalls++;
    }
  }

  /** `SAY <16-digit µs stamp + padding: 64 bytes> <msgNo>` */
  private sayFrame(stamp: string, msgNo: number): Buffer {
    const id = String(msgNo);
    const bodyBytes = SAY_PREFIX.length + TEXT_BYTES + 1 + id.length + 1;
    const out = Buffer.allocUnsafe(4 + bodyBytes);
    out.writeUInt32BE(bodyBytes, 0);
    SAY_PREFIX.copy(out, 4);
    let o = 4 + SAY_PREFIX.length;
    o += out.write(stamp, o, 'latin1');
    out.fill(0x2e /* . */, o, 4 + SAY_PREFIX.length + TEXT_BYTES);
    o = 4 + SAY_PREFIX.length + TEXT_BYTES;
    out[o++] = NUL;
    o += out.write(id, o, 'latin1');
    out[o] = NUL;
    return out;
  }
}

/** A set of members in one process (the bench process or a worker). */
export class MemberGroup {
  readonly members: Member[];
  /** Global member index -> sender number (or undefined). */
  readonly senderOfIndex: number[] = [];
  private latencies: Float32Array;
  private latencyCount = 0;
  private done = 0;
  private failure: string | undefined;
  private stopping = false;
  private readonly waiters = new Set<() => void>();
  private cpuAtStart = 0;
  running = false;

  constructor(readonly config: GroupConfig) {
    for (const [id, no] of Object.entries(config.senders)) this.senderOfIndex[Number(id.slice(1))] = no;
    this.members = config.members.map((id) => new Member(id, this, config.senders[id] ?? -1));
    const perMember = config.perSender * Object.keys(config.senders).length;
    this.latencies = new Float32Array(config.keepLatencies ? perMember * config.members.length : 0);
  }

  /** Connect and JOIN every member; resolves when each saw all `totalMembers` in MEMBERS. */
  async join(timeoutMs = 30_000): Promise<void> {
    // A few at a time: the host logs and re-sends MEMBERS on every join.
    for (let i = 0; i < this.members.length; i += 10) {
      await Promise.all(this.members.slice(i, i + 10).map((m) => m.connect()));
    }
    await this.until(() => this.members.every((m) => m.membersSeen >= this.config.totalMembers), timeoutMs, 'every member sees the full member list');
  }

  /** Senders start saying; resolves when every member got every message once (or it stalls). */
  async run(stallMs = 10_000): Promise<GroupResult> {
    const cpu = process.cpuUsage();
    this.cpuAtStart = cpu.user + cpu.system;
    this.running = true;
    for (const m of this.members) if (m.senderNo >= 0) m.start();
    let lastProgress = -1;
    let lastChange = Date.now();
    await this.until(
      () => {
        if (this.done === this.members.length) return true;
        const progress = this.members.reduce((s, m) => s + m.deliveries, 0);
        if (progress !== lastProgress) {
          lastProgress = progress;
          lastChange = Date.now();
        }
        return Date.now() - lastChange > stallMs; // stalled: report what is missing
      },
      Infinity,
      'all deliveries',
    );
    return this.result();
  }

  private result(): GroupResult {
    const cpu = process.cpuUsage();
    let deliveries = 0;
    let unique = 0;
    let duplicates = 0;
    let missing = 0;
    let unexpected = 0;
    let controlFrames = 0;
    let lastDeliveryUs = 0;
    for (const m of this.members) {
      deliveries += m.deliveries;
      unique += m.unique;
      unexpected += m.unexpected;
      controlFrames += m.controlFrames;
      lastDeliveryUs = Math.max(lastDeliveryUs, m.lastDeliveryUs);
      for (let k = 0; k < m.counts.length; k++) {
        const c = m.counts[k]!;
        if (c === 0) missing++;
        else if (c > 1) duplicates += c - 1;
      }
    }
    const senders = this.members.filter((m) => m.senderNo >= 0);
    return {
      members: this.members.length,
      deliveries,
      unique,
      duplicates,
      missing,
      unexpected,
      controlFrames,
      firstSendUs: senders.length ? Math.min(...senders.map((m) => m.firstSendUs)) : 0,
      lastSendUs: senders.length ? Math.max(...senders.map((m) => m.lastSendUs)) : 0,
      firstDeliveryUs: Math.min(...this.members.filter((m) => m.unique > 0).map((m) => m.firstDeliveryUs)),
      lastDeliveryUs,
      latencies: this.latencies.subarray(0, this.latencyCount),
      cpuMs: (cpu.user + cpu.system - this.cpuAtStart) / 1000,
      sendStalls: senders.reduce((s, m) => s + m.stalls, 0),
      disconnected: [...this.disconnected],
    };
  }

  close(): void {
    this.stopping = true;
    for (const m of this.members) m.close();
  }

  // ---------------------------------------------------------------- from members

  recordLatency(ms: number): void {
    if (this.latencyCount < this.latencies.length) this.latencies[this.latencyCount++] = ms;
  }

  memberDone(m: Member): void {
    if (m.finished) return;
    m.finished = true;
    this.done++;
    if (this.done === this.members.length) this.wake();
  }

  membersChanged(): void {
    this.wake();
  }

  /** Members the host disconnected during the run (e.g. as slow consumers). */
  disconnected: string[] = [];

  closed(m: Member): void {
    if (this.stopping) return;
    if (!this.running) return this.fail(`${m.id}: connection closed by the host`);
    // During the run: keep going; what it lacks is reported as missing.
    this.disconnected.push(m.id);
    this.memberDone(m);
  }

  fail(reason: string): void {
    this.failure ??= reason;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  private async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw new Error(this.failure);
      if (predicate()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 100);
        this.waiters.add(done);
      });
    }
  }
}
