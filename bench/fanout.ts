// `npm run bench:fanout`: one host node process, one channel, 100 members
// (raw KIT clients, see lib/fanout-members.ts), 4 of them senders.
//
//   flood: each sender says 5,000 messages of 64 bytes as fast as the host
//          takes them (at most --window unacknowledged per sender);
//   paced: 2,000 messages/s in total for 10 s (the same 20,000 messages).
//
// Figures per run: deliveries/s at the members (deliveries / time from the
// first send to the last delivery), send -> receive latency p50/p99/max,
// the host's peak RSS (VmHWM), CPU used by the host and by the bench side,
// and exactly-once: 100 x 20,000 = 2,000,000 deliveries, duplicates and
// missing counted per (member, message). Printed and written to
// bench/results/fanout-<timestamp>.json; nothing is asserted.
//
// Latency in the flood run is mostly queueing: 4 x --window messages are in
// flight at any time (a smaller window trades throughput for latency); the
// paced run shows the latency of a host that keeps up.
//
// Options (npm run bench:fanout -- --help):
//   --members 100 --senders 4 --messages 5000 --window 256
//   --rate 2000 --duration 10 --runs flood,paced --history 100
//   --workers 0        members in the bench process (0) or in N child processes
//   --repeat 1         run the list of runs this many times (a busy machine is noisy)
//   --profile          run the host under --cpu-prof and summarise the profile
//   --host-bin <path>  the host from another checkout's bin/chanmesh.js (A/B)
//   --host-node-arg <a> an option for the host's node (repeatable), e.g. --max-semi-space-size=32
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NodeProcess, uniqueGroup } from '../test/helpers/node-process.ts';
import { MemberGroup, TEXT_BYTES, type GroupConfig, type GroupResult } from './lib/fanout-members.ts';
import type { WorkerReply, WorkerRequest } from './lib/fanout-worker.ts';
import { summarizeProfile, formatProfile } from './lib/profile.ts';
import { cpuMsOf, machineInfo, memoryOf, MemoryPoller, mib, ownCpuMs, RESULTS_DIR, summarize, systemCpuMs, table, writeResult } from './lib/stats.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '100' },
    senders: { type: 'string', default: '4' },
    messages: { type: 'string', default: '5000' },
    window: { type: 'string', default: '256' },
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: 'flood,paced' },
    repeat: { type: 'string', default: '1' },
    history: { type: 'string', default: '100' },
    workers: { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    'host-bin': { type: 'string' },
    'host-node-arg': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  const source = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(source.slice(0, source.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

const int = (s: string, name: string) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${s}`);
  return n;
};
const opts = {
  members: int(args.members, 'members'),
  senders: int(args.senders, 'senders'),
  messages: int(args.messages, 'messages'),
  window: int(args.window, 'window'),
  rate: int(args.rate, 'rate'),
  duration: int(args.duration, 'duration'),
  history: int(args.history, 'history'),
  workers: int(args.workers, 'workers'),
  runs: args.runs.split(',').filter(Boolean) as Array<'flood' | 'paced'>,
  repeat: Math.max(1, int(args.repeat, 'repeat')),
  profile: args.profile,
  hostNodeArgs: args['host-node-arg'],
  hostBin: args['host-bin'] === undefined ? undefined : path.resolve(args['host-bin']),
};
if (opts.senders < 1 || opts.senders > opts.members) throw new Error('--senders must be 1..members');
if (opts.members > 1000) throw new Error('--members at most 1000 (ids m000..m999)');
for (const r of opts.runs) if (r !== 'flood' && r !== 'paced') throw new Error(`--runs: unknown run ${r}`);

const CHANNEL = '#bench';

// ---------------------------------------------------------------- member groups

/** The same interface for members in this process and members in a worker process. */
interface Group {
  join(): Promise<void>;
  run(): Promise<GroupResult>;
  close(): void;
}

class LocalGroup implements Group {
  private readonly group: MemberGroup;
  constructor(config: GroupConfig) {
    this.group = new MemberGroup(config);
  }
  join() {
    return this.group.join();
  }
  run() {
    return this.group.run();
  }
  close() {
    this.group.close();
  }
}

class WorkerGroup implements Group {
  private readonly child: ChildProcess;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly config: GroupConfig) {
    this.child = fork(path.join(here, 'lib/fanout-worker.ts'), [], {
      execArgv: ['--import=tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.type === 'error') p?.reject(new Error(`worker: ${m.message}`));
      else p?.resolve(m);
    });
    this.child.on('exit', (code) => this.pending?.reject(new Error(`worker exited with ${code}`)));
  }

  private request(r: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(r);
    });
  }

  async join() {
    await this.request({ type: 'join', config: this.config });
  }

  async run() {
    const reply = await this.request({ type: 'run' });
    if (reply.type !== 'result') throw new Error(`worker: unexpected reply ${reply.type}`);
    return reply.result;
  }

  close() {
    if (this.child.connected) this.child.send({ type: 'close' } satisfies WorkerRequest);
    setTimeout(() => this.child.kill(), 2000).unref();
  }
}

// ---------------------------------------------------------------- one run

interface RunFigures {
  run: 'flood' | 'paced';
  members: number;
  senders: number;
  messagesPerSender: number;
  textBytes: number;
  window: number | null;
  targetRate: number | null;
  memberProcesses: string;
  expectedDeliveries: number;
  deliveries: number;
  uniqueDeliveries: number;
  duplicates: number;
  missing: number;
  unexpectedFrames: number;
  disconnectedMembers: string[];
  slowConsumerEvents: number;
  sendSeconds: number;
  /** First send -> first delivery anywhere (start-up cost of the first SAY). */
  firstDeliveryMs: number;
  seconds: number;
  deliveriesPerSecond: number;
  messagesPerSecond: number;
  latencyMs: ReturnType<typeof summarize>;
  hostPeakRssBytes: number;
  hostRssBeforeBytes: number;
  hostCpuPercent: number;
  /** Host CPU time per message said (fanned out to every member): the hot path's cost. Less sensitive to a busy machine than throughput, not immune: a host that gets the CPU less often finds more messages per read and batches more. */
  hostCpuUsPerMessage: number;
  benchCpuPercent: number[];
  /** CPU used during the run by every other process of the machine (of 100% x CPUs): noise. */
  othersCpuPercent: number;
  loadAverage: number;
  senderStalls: number;
  profile?: ReturnType<typeof summarizeProfile> & { file: string };
}

async function runOnce(kind: 'flood' | 'paced'): Promise<RunFigures> {
  const profileDir = opts.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'chanmesh-prof-')) : undefined;
  const host = new NodeProcess({
    id: 'host',
    group: uniqueGroup(),
    pduIntervalMs: 250,
    args: ['--port', '0', '--history', String(opts.history), '--log-level', 'info'],
    nodeArgs: [...opts.hostNodeArgs, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])],
    bin: opts.hostBin,
  });
  const groups: Group[] = [];
  try {
    const started = await host.waitEvent('node.started', undefined, 20_000);
    const port = Number(started.port);
    const pid = host.child.pid!;

    const ids = Array.from({ length: opts.members }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const senders: Record<string, number> = {};
    for (let s = 0; s < opts.senders; s++) senders[ids[Math.floor((s * opts.members) / opts.senders)]!] = s;
    const perSender = kind === 'flood' ? opts.messages : Math.round((opts.rate * opts.duration) / opts.senders);
    const plan =
      kind === 'flood'
        ? { mode: 'flood' as const, count: perSender, window: opts.window, rate: 0 }
        : { mode: 'paced' as const, count: perSender, window: 100_000, rate: opts.rate / opts.senders };
    const parts = Math.max(1, opts.workers);
    for (let w = 0; w < parts; w++) {
      const config: GroupConfig = {
        port,
        channel: CHANNEL,
        members: ids.filter((_, i) => i % parts === w),
        senders,
        totalMembers: opts.members,
        perSender,
        plan,
        keepLatencies: true,
      };
      groups.push(opts.workers === 0 ? new LocalGroup(config) : new WorkerGroup(config));
    }
    await Promise.all(groups.map((g) => g.join()));
    await new Promise((r) => setTimeout(r, 300)); // let the joins' MEMBERS/log traffic settle

    const rssBefore = memoryOf(pid)?.rss ?? NaN;
    const poller = new MemoryPoller(pid, 50);
    const hostCpu0 = cpuMsOf(pid);
    const sysCpu0 = systemCpuMs();
    const ownCpu0 = ownCpuMs();
    const wall0 = performance.now();
    const results = await Promise.all(groups.map((g) => g.run()));
    const wallMs = performance.now() - wall0;
    const hostCpuMs = cpuMsOf(pid) - hostCpu0;
    const sysCpuMs = systemCpuMs() - sysCpu0;
    const ownMs = ownCpuMs() - ownCpu0;
    poller.stop();
    const benchSideMs = opts.workers === 0 ? ownMs : ownMs + results.reduce((s, r) => s + r.cpuMs, 0);

    const sum = (f: (r: GroupResult) => number) => results.reduce((s, r) => s + f(r), 0);
    const firstSendUs = Math.min(...results.filter((r) => r.firstSendUs > 0).map((r) => r.firstSendUs));
    const lastSendUs = Math.max(...results.map((r) => r.lastSendUs));
    const lastDeliveryUs = Math.max(...results.map((r) => r.lastDeliveryUs));
    const seconds = (lastDeliveryUs - firstSendUs) / 1e6;
    const latencies = new Float32Array(sum((r) => r.latencies.length));
    let o = 0;
    for (const r of results) {
      latencies.set(r.latencies, o);
      o += r.latencies.length;
    }
    const deliveries = sum((r) => r.deliveries);
    const totalMessages = perSender * opts.senders;
    const figures: RunFigures = {
      run: kind,
      members: opts.members,
      senders: opts.senders,
      messagesPerSender: perSender,
      textBytes: TEXT_BYTES,
      window: kind === 'flood' ? opts.window : null,
      targetRate: kind === 'paced' ? opts.rate : null,
      memberProcesses: opts.workers === 0 ? 'bench process' : `${opts.workers} worker processes`,
      expectedDeliveries: opts.members * totalMessages,
      deliveries,
      uniqueDeliveries: sum((r) => r.unique),
      duplicates: sum((r) => r.duplicates),
      missing: sum((r) => r.missing),
      unexpectedFrames: sum((r) => r.unexpected),
      disconnectedMembers: results.flatMap((r) => r.disconnected),
      slowConsumerEvents: host.events.filter((e) => e.event === 'connection.slow_consumer').length,
      sendSeconds: (lastSendUs - firstSendUs) / 1e6,
      firstDeliveryMs: (Math.min(...results.map((r) => r.firstDeliveryUs)) - firstSendUs) / 1000,
      seconds,
      deliveriesPerSecond: sum((r) => r.unique) / seconds,
      messagesPerSecond: totalMessages / seconds,
      latencyMs: summarize(latencies),
      hostPeakRssBytes: Math.max(poller.peakHwm, poller.peakRss),
      hostRssBeforeBytes: rssBefore,
      hostCpuPercent: (100 * hostCpuMs) / wallMs,
      hostCpuUsPerMessage: (1000 * hostCpuMs) / totalMessages,
      benchCpuPercent: results.map((r) => (100 * r.cpuMs) / wallMs),
      othersCpuPercent: Math.max(0, (100 * (sysCpuMs - hostCpuMs - benchSideMs)) / wallMs),
      loadAverage: os.loadavg()[0]!,
      senderStalls: sum((r) => r.sendStalls),
    };

    if (profileDir) {
      host.signal('SIGTERM'); // graceful: the profile is written at exit
      await host.until('exit', () => host.exited, 10_000);
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        const target = path.join(RESULTS_DIR, `fanout-${kind}-host-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
        fs.mkdirSync(RESULTS_DIR, { recursive: true });
        fs.copyFileSync(path.join(profileDir, file), target);
        // Only the run: from the first send to the last delivery (same monotonic clock).
        const window = { fromUs: firstSendUs, toUs: lastDeliveryUs };
        figures.profile = { ...summarizeProfile(JSON.parse(fs.readFileSync(target, 'utf8')), 15, window), file: path.relative(process.cwd(), target) };
      }
    }
    return figures;
  } finally {
    for (const g of groups) g.close();
    await host.stop();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const count = (n: number) => n.toLocaleString('en-US');

console.log(
  `fan-out: ${opts.members} members, ${opts.senders} senders, ${TEXT_BYTES}-byte texts, history ${opts.history}, ` +
    `members in ${opts.workers === 0 ? 'the bench process' : `${opts.workers} worker processes`}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`,
);
const all: RunFigures[] = [];
for (let rep = 0; rep < opts.repeat; rep++) for (const kind of opts.runs) {
  process.stdout.write(`\n${kind} run${opts.repeat > 1 ? ` ${rep + 1}/${opts.repeat}` : ''} (load average ${os.loadavg()[0]!.toFixed(2)}) ... `);
  const t0 = Date.now();
  const figures = await runOnce(kind);
  all.push(figures);
  console.log(`done in ${f1((Date.now() - t0) / 1000)} s`);
  if (figures.profile) console.log(formatProfile(figures.profile));
}

console.log('');
console.log(
  table(
    ['run', 'deliveries', 'dup', 'missing', 'seconds', 'deliveries/s', 'msgs/s in', 'p50 ms', 'p99 ms', 'max ms', 'host RSS idle/peak', 'host CPU', 'host µs/msg', 'bench CPU', 'others CPU'],
    all.map((f) => [
      f.run === 'flood' ? `flood (window ${f.window})` : `paced ${f.targetRate}/s`,
      `${count(f.uniqueDeliveries)}/${count(f.expectedDeliveries)}`,
      count(f.duplicates),
      count(f.missing),
      f2(f.seconds),
      count(Math.round(f.deliveriesPerSecond)),
      count(Math.round(f.messagesPerSecond)),
      f2(f.latencyMs.p50),
      f2(f.latencyMs.p99),
      f1(f.latencyMs.max),
      `${(f.hostRssBeforeBytes / 1048576).toFixed(0)}/${mib(f.hostPeakRssBytes)}`,
      `${Math.round(f.hostCpuPercent)}%`,
      f1(f.hostCpuUsPerMessage),
      f.benchCpuPercent.map((p) => `${Math.round(p)}%`).join('+'),
      `${Math.round(f.othersCpuPercent)}%`,
    ]),
  ),
);
for (const f of all) {
  const notes = [];
  if (f.disconnectedMembers.length) notes.push(`disconnected by the host: ${f.disconnectedMembers.join(' ')}`);
  if (f.slowConsumerEvents) notes.push(`${f.slowConsumerEvents} slow-consumer events`);
  if (f.unexpectedFrames) notes.push(`${f.unexpectedFrames} unexpected frames`);
  if (f.uniqueDeliveries !== f.expectedDeliveries || f.duplicates) notes.push('NOT exactly once');
  if (notes.length) console.log(`${f.run}: ${notes.join('; ')}`);
}
console.log('\nfor scale (issue 2, this 2-core machine): ngircd ~2.4 M deliveries/s, Redis pub/sub ~3.1 M/s, naive Node relay ~0.4 M/s');

const file = writeResult('fanout', {
  bench: 'fanout',
  at: new Date().toISOString(),
  machine: machineInfo(),
  options: opts,
  runs: all,
});
console.log(`\nwritten: ${path.relative(process.cwd(), file)}`);
