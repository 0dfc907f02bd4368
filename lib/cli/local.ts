// `chanmesh local` (`npm start`): the newcomer's first minute. Starts a small
// cluster of `chanmesh node` child processes on loopback multicast (no root,
// no Docker) and shows a live view built from what the nodes print: their
// JSON log events (docs/log-events.md) and chat lines. Commands on a one-line
// prompt crash, freeze, thaw and restart nodes to watch failover.
//
// No process is left behind: quit, Ctrl-C, SIGTERM and SIGHUP kill every
// child (frozen ones get SIGCONT first); a child's stdin is a pipe held by
// this process, so a child also quits when this process dies (end of stdin);
// and a tiny detached reaper SIGKILLs the children should this process be
// killed while one of them is frozen (a stopped process cannot read EOF).
import { Command, CommanderError, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseDuration, parseGroup, parseInteger, parsePduInterval, usageExitCode } from './options.ts';
import { clockTime, formatEvent, LineSplitter, parseNodeLine, type NodeEvent } from './node-output.ts';
import { NODE_DEFAULTS } from '../node/config.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type NodeStatus = 'starting' | 'running' | 'frozen' | 'stopping' | 'exited';

interface PeerView {
  state: string;
  failTimer?: number;
}

interface HostedChannel {
  epoch: number;
  standbys: string[];
  members: string[];
}

interface Membership {
  host: string;
  epoch: number;
  failingOver: boolean;
}

interface LocalNode {
  index: number;
  id: string;
  chatter: boolean;
  child?: ChildProcess;
  pid?: number;
  status: NodeStatus;
  exit?: string;
  port?: number;
  /** Where its Prometheus metrics are (`--metrics 0`: a free port on loopback). */
  metricsPort?: number;
  starts: number;
  peers: Map<string, PeerView>;
  hosting: Map<string, HostedChannel>;
  memberOf: Map<string, Membership>;
}

interface ChatEntry {
  time: number;
  channel: string;
  author: string;
  text: string;
  seenBy: Set<string>;
}

interface LogEntry {
  time: number;
  text: string;
  level: number;
}

interface LocalOptions {
  nodes: number;
  chatter: number;
  pduInterval?: number;
  group?: { address: string; port: number };
  bin: string;
  plain?: boolean;
}

const MAX_EVENTS = 300;
const MAX_CHAT = 200;
const CHANNEL = '#lobby';

// A separate process that outlives us: on the end of its stdin (we are gone)
// it SIGCONTs and SIGKILLs every child pid we told it about that still runs
// a chanmesh node. Plain JavaScript, started with `node -e`: it loads nothing.
const REAPER = `
const fs = require('fs');
const pids = new Set();
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (line[0] === '+') pids.add(pid); else if (line[0] === '-') pids.delete(pid);
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) {
    let cmd = '';
    try { cmd = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8'); } catch { continue; }
    if (!cmd.includes('chanmesh')) continue;
    try { process.kill(pid, 'SIGCONT'); } catch {}
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  process.exit(0);
});
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
`;

class LocalCluster {
  readonly nodes: LocalNode[] = [];
  readonly events: LogEntry[] = [];
  readonly chat: ChatEntry[] = [];
  readonly group: string;
  private reaper?: ChildProcess;
  private quitting = false;
  private readonly exitWaiters = new Map<number, Array<() => void>>();

  constructor(
    private readonly options: LocalOptions,
    private readonly plain: boolean,
    private readonly onChange: () => void,
  ) {
    const group = options.group ?? { address: NODE_DEFAULTS.group.address, port: 40000 + Math.floor(Math.random() * 7000) };
    this.group = `${group.address}:${group.port}`;
    for (let i = 1; i <= options.nodes; i++) {
      this.nodes.push({
        index: i,
        id: `node${i}`,
        // node1 is yours to type into; the others chatter.
        chatter: i > 1,
        status: 'exited',
        starts: 0,
        peers: new Map(),
        hosting: new Map(),
        memberOf: new Map(),
      });
    }
  }

  get isQuitting(): boolean {
    return this.quitting;
  }

  startReaper(): void {
    if (process.platform !== 'linux') return; // /proc based; elsewhere the stdin pipe still ends the children
    const reaper = spawn(process.execPath, ['-e', REAPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => {});
    reaper.stdin?.on('error', () => {});
    reaper.unref();
    this.reaper = reaper;
  }

  private tellReaper(line: string): void {
    this.reaper?.stdin?.write(`${line}\n`);
  }

  find(ref: string | undefined): LocalNode | undefined {
    if (!ref) return undefined;
    return this.nodes.find((n) => String(n.index) === ref || n.id === ref);
  }

  note(text: string, level = 30): void {
    this.pushEvent({ time: Date.now(), text: `${clockTime()} local  ${text}`, level });
  }

  private pushEvent(entry: LogEntry): void {
    if (this.plain) process.stdout.write(`${entry.text}\n`);
    this.events.push(entry);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.onChange();
  }

  start(node: LocalNode): void {
    if (this.quitting || (node.child && node.status !== 'exited')) return;
    const args = [
      this.options.bin,
      'node',
      '--id',
      node.id,
      '--group',
      this.group,
      '--iface',
      '127.0.0.1',
      '--port',
      '0',
      '--metrics',
      '0',
      '--join',
      CHANNEL,
      '--log-format',
      'json',
      // Debug, for the peers' suspicions (peer.state maybeDisconnected) in the view.
      '--log-level',
      'debug',
    ];
    if (node.chatter) args.push('--chatter', `${this.options.chatter}ms`);
    if (this.options.pduInterval !== undefined) args.push('--pdu-interval', `${this.options.pduInterval}ms`);
    // The children get our environment without CHANMESH_*: a CHANMESH_PORT
    // or CHANMESH_ID meant for something else would break the local cluster.
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CHANMESH_')) env[key] = value;
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    node.child = child;
    node.pid = child.pid;
    node.status = 'starting';
    node.exit = undefined;
    node.starts++;
    node.peers.clear();
    node.hosting.clear();
    node.memberOf.clear();
    child.stdin?.on('error', () => {});
    child.on('error', (error) => this.note(`${node.id} could not start: ${error.message}`, 50));
    if (child.pid) this.tellReaper(`+${child.pid}`);
    this.note(`${node.id} started pid=${child.pid ?? '-'}${node.chatter ? ` chatter=${this.options.chatter}ms` : ''}`);
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of out.push(chunk)) this.onStdout(node, line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of err.push(chunk)) this.onStderr(node, line);
    });
    child.on('exit', (code, sig) => {
      if (node.child !== child) return;
      node.status = 'exited';
      node.exit = sig ? `killed (${sig})` : `exited (${code})`;
      node.hosting.clear();
      if (child.pid) {
        this.tellReaper(`-${child.pid}`);
        for (const resolve of this.exitWaiters.get(child.pid) ?? []) resolve();
        this.exitWaiters.delete(child.pid);
      }
      this.note(`${node.id} ${node.exit} pid=${child.pid ?? '-'}`, sig === 'SIGKILL' ? 40 : 30);
    });
  }

  private onStdout(node: LocalNode, line: string): void {
    const parsed = parseNodeLine(line);
    if (parsed.kind === 'chat') {
      const { channel, author, text } = parsed.chat;
      const now = Date.now();
      // The same line arrives at every member: one entry, with who saw it.
      let entry: ChatEntry | undefined;
      for (let i = this.chat.length - 1; i >= 0; i--) {
        const c = this.chat[i]!;
        if (now - c.time > 5000) break;
        if (c.channel === channel && c.author === author && c.text === text && !c.seenBy.has(node.id)) {
          entry = c;
          break;
        }
      }
      if (entry) {
        entry.seenBy.add(node.id);
      } else {
        entry = { time: now, channel, author, text, seenBy: new Set([node.id]) };
        this.chat.push(entry);
        if (this.chat.length > MAX_CHAT) this.chat.splice(0, this.chat.length - MAX_CHAT);
      }
      if (this.plain) process.stdout.write(`${clockTime(now)} chat   ${node.id} saw [${channel}] <${author}> ${text}\n`);
      this.onChange();
      return;
    }
    const text = parsed.kind === 'text' ? parsed.text : line;
    if (text.trim()) this.pushEvent({ time: Date.now(), text: `${clockTime()} ${node.id} says: ${text}`, level: 30 });
  }

  private onStderr(node: LocalNode, line: string): void {
    const parsed = parseNodeLine(line);
    if (parsed.kind !== 'event') {
      if (line.trim()) this.pushEvent({ time: Date.now(), text: `${clockTime()} ${node.id} stderr: ${line}`, level: 50 });
      return;
    }
    const event = parsed.event;
    this.apply(node, event);
    if (this.plain || isInteresting(event)) {
      this.pushEvent({ time: typeof event.time === 'number' ? event.time : Date.now(), text: formatEvent(event), level: Number(event.level ?? 30) });
    } else {
      this.onChange();
    }
  }

  /** The model: what each node says about its peers and channels. */
  private apply(node: LocalNode, e: NodeEvent): void {
    const channel = typeof e.channel === 'string' ? e.channel : undefined;
    const peer = typeof e.peer === 'string' ? e.peer : undefined;
    const epoch = typeof e.epoch === 'number' ? e.epoch : Number(e.epoch ?? 0);
    switch (e.event) {
      case 'node.started':
        if (node.status === 'starting') node.status = 'running';
        if (typeof e.port === 'number') node.port = e.port;
        break;
      case 'metrics.listening':
        if (typeof e.port === 'number') node.metricsPort = e.port;
        break;
      case 'peer.discovered':
        if (peer) node.peers.set(peer, { state: 'timerAlive' });
        break;
      case 'peer.state':
        if (peer) {
          const view: PeerView = { state: String(e.state) };
          if (typeof e.failTimer === 'number') view.failTimer = e.failTimer;
          node.peers.set(peer, view);
        }
        break;
      case 'peer.restarted':
        if (peer) node.peers.set(peer, { state: 'timerAlive' });
        break;
      case 'channel.created':
      case 'takeover':
        if (channel) node.hosting.set(channel, { epoch, standbys: [], members: listOf(e.members) });
        break;
      case 'channel.closed':
        if (channel) node.hosting.delete(channel);
        break;
      case 'standby.chosen':
        if (channel) {
          const hosted = node.hosting.get(channel) ?? { epoch, standbys: [], members: [] };
          hosted.epoch = epoch;
          hosted.standbys = listOf(e.standbys);
          node.hosting.set(channel, hosted);
        }
        break;
      case 'channel.member_joined':
      case 'channel.member_left': {
        const hosted = channel ? node.hosting.get(channel) : undefined;
        if (hosted) hosted.members = listOf(e.members);
        break;
      }
      case 'member.joined':
      case 'failover.finished':
        if (channel && typeof e.host === 'string') node.memberOf.set(channel, { host: e.host, epoch, failingOver: false });
        break;
      case 'failover.started': {
        const m = channel ? node.memberOf.get(channel) : undefined;
        if (m) m.failingOver = true;
        break;
      }
      case 'member.left':
        if (channel) node.memberOf.delete(channel);
        break;
      default:
        break;
    }
  }

  /** Resolves when the child with this pid has exited (or at once if it has). */
  private waitExit(node: LocalNode, timeoutMs: number): Promise<void> {
    const child = node.child;
    if (!child || !child.pid || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const pid = child.pid;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const list = this.exitWaiters.get(pid) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.exitWaiters.set(pid, list);
    });
  }

  private alive(node: LocalNode): boolean {
    return node.child !== undefined && node.status !== 'exited';
  }

  kill(node: LocalNode): void {
    if (!this.alive(node)) return this.note(`${node.id} is not running`);
    node.child!.kill('SIGCONT');
    node.child!.kill('SIGKILL');
    this.note(`${node.id} SIGKILL (a crash)`, 40);
  }

  freeze(node: LocalNode): void {
    if (!this.alive(node)) return this.note(`${node.id} is not running`);
    node.child!.kill('SIGSTOP');
    node.status = 'frozen';
    this.note(`${node.id} SIGSTOP (frozen: its sockets stay open, nothing answers)`, 40);
  }

  thaw(node: LocalNode): void {
    if (!this.alive(node)) return this.note(`${node.id} is not running`);
    node.child!.kill('SIGCONT');
    node.status = 'running';
    this.note(`${node.id} SIGCONT (thawed)`);
  }

  async restart(node: LocalNode): Promise<void> {
    if (this.alive(node)) {
      node.status = 'stopping';
      node.child!.kill('SIGCONT');
      node.child!.stdin?.end(); // the node quits at the end of stdin
      await this.waitExit(node, 2000);
      if (this.alive(node)) {
        node.child!.kill('SIGKILL');
        await this.waitExit(node, 2000);
      }
    }
    this.start(node);
  }

  say(node: LocalNode, text: string): void {
    if (!this.alive(node)) return this.note(`${node.id} is not running`);
    if (node.status === 'frozen') this.note(`${node.id} is frozen: it reads the line when thawed`);
    node.child!.stdin?.write(`${text}\n`);
  }

  /** Every child gone: gracefully (end of stdin), then SIGKILL; frozen ones thawed first. */
  async stopAll(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    const running = this.nodes.filter((n) => this.alive(n));
    for (const node of running) {
      node.child!.kill('SIGCONT');
      node.child!.stdin?.end();
    }
    await Promise.all(running.map((n) => this.waitExit(n, 1500)));
    for (const node of this.nodes.filter((n) => this.alive(n))) node.child!.kill('SIGKILL');
    await Promise.all(running.map((n) => this.waitExit(n, 3000)));
    this.reaper?.stdin?.end();
  }

  /** Last resort on process exit: synchronous SIGCONT + SIGKILL. */
  killAllNow(): void {
    for (const node of this.nodes) {
      if (!this.alive(node)) continue;
      try {
        node.child!.kill('SIGCONT');
        node.child!.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(',').filter(Boolean);
  return [];
}

/** The live view's event pane leaves out the routine: peers' alive/maybe flapping, debug. */
function isInteresting(e: NodeEvent): boolean {
  if (typeof e.level === 'number' && e.level < 30) return false;
  if (e.event === 'peer.state') return e.state === 'disconnected';
  return true;
}

// ---- the screen -------------------------------------------------------------

const PEER_WORDS: Record<string, string> = {
  timerAlive: 'alive',
  maybeDisconnected: 'maybe',
  disconnected: 'DOWN',
};

function peerCell(view: PeerView | undefined): string {
  if (!view) return '?';
  const word = PEER_WORDS[view.state] ?? view.state;
  return view.state === 'maybeDisconnected' && view.failTimer !== undefined ? `${word}(${view.failTimer})` : word;
}

interface Line {
  text: string;
  style?: string;
}

function renderScreen(cluster: LocalCluster, rows: number, cols: number, input: string): string {
  const lines: Line[] = [];
  const bold = '1';
  lines.push({ text: `chanmesh local · ${cluster.nodes.length} nodes · group ${cluster.group} on 127.0.0.1 · ${clockTime().slice(0, 8)}`, style: bold });
  lines.push({ text: '' });
  const ids = cluster.nodes.map((n) => n.id);
  const cell = 10;
  lines.push({ text: 'NODES, and how each one sees its peers (alive / maybe(failTimer) / DOWN / gone)', style: bold });
  lines.push({ text: `${'  NODE'.padEnd(10)}${'PID'.padEnd(9)}${'STATE'.padEnd(19)}${'PORT'.padEnd(7)}${'METRICS'.padEnd(8)}| ${ids.map((id) => id.padEnd(cell)).join('')}`, style: bold });
  for (const node of cluster.nodes) {
    const exited = node.status === 'exited';
    const state = exited ? (node.exit ?? 'exited') : node.status;
    const peers = exited
      ? ''
      : ids.map((id) => (id === node.id ? 'self' : peerCell(node.peers.get(id))).padEnd(cell)).join('') + (node.status === 'frozen' ? ' (stale: frozen)' : '');
    const pid = exited ? '-' : String(node.pid ?? '-');
    const port = exited ? '-' : String(node.port ?? '-');
    const metrics = exited ? '-' : String(node.metricsPort ?? '-');
    const text = `${`${node.index} ${node.id}`.padEnd(10)}${pid.padEnd(9)}${state.padEnd(19)}${port.padEnd(7)}${metrics.padEnd(8)}| ${peers}`;
    const style = exited ? '31' : node.status === 'frozen' ? '33' : undefined;
    lines.push(style ? { text, style } : { text });
  }
  lines.push({ text: '' });
  lines.push({ text: 'CHANNELS (host, epoch, ranked standbys, members; then each member\'s view: host@epoch)', style: bold });
  const channels = new Set<string>();
  for (const n of cluster.nodes) {
    for (const c of n.hosting.keys()) channels.add(c);
    for (const c of n.memberOf.keys()) channels.add(c);
  }
  if (channels.size === 0) lines.push({ text: '  (none yet)' });
  const describeHost = (h: LocalNode, channel: string) => {
    const hc = h.hosting.get(channel)!;
    return `host ${h.id} epoch ${hc.epoch} standbys ${hc.standbys.join(',') || '-'} members ${hc.members.join(',') || '-'}`;
  };
  for (const channel of [...channels].sort()) {
    // A frozen node still believes what it believed when it stopped: shown, but not counted.
    const hosts = cluster.nodes.filter((n) => n.status !== 'exited' && n.status !== 'frozen' && n.hosting.has(channel));
    const frozen = cluster.nodes.filter((n) => n.status === 'frozen' && n.hosting.has(channel));
    let hostText = hosts.length === 0 ? 'no live host' : hosts.map((h) => describeHost(h, channel)).join('  |  ');
    if (hosts.length > 1) hostText = `SPLIT BRAIN: ${hostText}`;
    if (frozen.length > 0) hostText += `   (frozen, still thinks it hosts: ${frozen.map((f) => `${f.id}@${f.hosting.get(channel)!.epoch}`).join(' ')})`;
    lines.push(hosts.length === 1 ? { text: `  ${channel}  ${hostText}` } : { text: `  ${channel}  ${hostText}`, style: '33' });
    const views = cluster.nodes
      .filter((n) => n.status !== 'exited' && n.memberOf.has(channel))
      .map((n) => {
        const m = n.memberOf.get(channel)!;
        return `${n.id}→${m.failingOver ? 'failing over' : `${m.host}@${m.epoch}`}`;
      });
    lines.push({ text: `      members see: ${views.join('  ') || '-'}` });
  }
  lines.push({ text: '' });
  const fixed = lines.length + 2 /* headers */ + 2 /* prompt + help */;
  const free = Math.max(6, rows - fixed);
  const eventRows = Math.ceil(free / 2);
  const chatRows = free - eventRows;
  lines.push({ text: 'EVENTS', style: bold });
  const events = cluster.events.slice(-eventRows);
  for (const e of events) lines.push(e.level >= 50 ? { text: e.text, style: '31' } : e.level >= 40 ? { text: e.text, style: '33' } : { text: e.text });
  for (let i = events.length; i < eventRows; i++) lines.push({ text: '' });
  lines.push({ text: 'CHAT (who received it)', style: bold });
  const chat = cluster.chat.slice(-chatRows);
  for (const c of chat) lines.push({ text: `${clockTime(c.time).slice(0, 8)} [${c.channel}] <${c.author}> ${c.text}   (${[...c.seenBy].sort().join(' ')})` });
  for (let i = chat.length; i < chatRows; i++) lines.push({ text: '' });
  lines.push({ text: 'commands: kill|freeze|thaw|restart <n> · say <n> <text or /command> · quit', style: '2' });
  const width = Math.max(20, cols - 1);
  const body = lines
    .slice(0, Math.max(1, rows - 1))
    .map((l) => {
      const text = l.text.length > width ? l.text.slice(0, width) : l.text;
      return `${l.style ? `\x1b[${l.style}m${text}\x1b[0m` : text}\x1b[K`;
    })
    .join('\r\n');
  const prompt = `> ${input}`;
  return `\x1b[H${body}\r\n${prompt.slice(-width)}\x1b[J`;
}

// ---- the command ------------------------------------------------------------

async function execute(cluster: LocalCluster, line: string, quit: () => void): Promise<void> {
  const trimmed = line.trim();
  if (!trimmed) return;
  const [verb = '', ref, ...rest] = trimmed.split(/\s+/);
  const command = verb.toLowerCase();
  if (command === 'quit' || command === 'exit' || command === 'q') return quit();
  if (command === 'help' || command === '?') {
    return cluster.note('kill <n> (SIGKILL) · freeze <n> (SIGSTOP) · thaw <n> (SIGCONT) · restart <n> · say <n> <text|/join #x|/peers|...> · quit');
  }
  const node = cluster.find(ref);
  if (!['kill', 'freeze', 'thaw', 'restart', 'start', 'say'].includes(command)) {
    return cluster.note(`unknown command "${verb}" (try help)`, 40);
  }
  if (!node) return cluster.note(`which node? ${cluster.nodes.map((n) => `${n.index}/${n.id}`).join(', ')}`, 40);
  switch (command) {
    case 'kill':
      return cluster.kill(node);
    case 'freeze':
      return cluster.freeze(node);
    case 'thaw':
      return cluster.thaw(node);
    case 'restart':
    case 'start':
      return cluster.restart(node);
    case 'say': {
      // The text after "say <n> ", spacing kept.
      const text = trimmed.replace(/^\S+\s+\S+\s?/, '');
      if (!text || rest.length === 0) return cluster.note('say <n> <text>', 40);
      return cluster.say(node, text);
    }
  }
}

export async function runLocalCommand(args: string[]): Promise<number> {
  let options: LocalOptions;
  try {
    const program = new Command('chanmesh local')
      .description('a local cluster of chanmesh nodes on loopback multicast with a live view (npm start)')
      .option('--nodes <n>', 'how many nodes', parseInteger(1, 9), 3)
      .addOption(new Option('--chatter <interval>', 'nodes 2.. say a line this often').argParser(parseDuration).default(2000, '2s'))
      .option('--pdu-interval <ms>', "the nodes' PeerPDU interval, 10 ms to 1 h (default: the node's)", parsePduInterval)
      .option('--group <addr:port>', 'multicast group (default: 239.255.77.77 and a random port, so runs do not hear each other)', parseGroup)
      .option('--bin <path>', 'the chanmesh entry script to run', path.join(PROJECT_ROOT, 'bin', 'chanmesh.js'))
      .option('--plain', 'print events as lines instead of the live view (the default when stdout is not a terminal)')
      .exitOverride();
    program.parse(args, { from: 'user' });
    options = program.opts<LocalOptions>();
  } catch (error) {
    if (error instanceof CommanderError) return usageExitCode(error);
    throw error;
  }

  process.stdout.on('error', () => {}); // `npm start | head`: a closed pipe is not a crash
  const live = process.stdout.isTTY === true && options.plain !== true;
  let dirty = true;
  const cluster = new LocalCluster(options, !live, () => {
    dirty = true;
  });
  let input = '';
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let quitting = false;
  const quit = () => {
    if (quitting) return;
    quitting = true;
    cluster.note('stopping every node');
    void cluster.stopAll().then(resolveDone);
  };

  const onExit = () => cluster.killAllNow();
  process.on('exit', onExit);
  const onSignal = () => quit();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  cluster.startReaper();
  if (!live) {
    process.stdout.write(
      `chanmesh local: ${options.nodes} nodes on ${cluster.group} via 127.0.0.1; commands: kill|freeze|thaw|restart <n>, say <n> <text>, quit\n`,
    );
  }
  for (const node of cluster.nodes) cluster.start(node);

  // Input: keys in raw mode when we draw the screen on a terminal, else lines.
  let rl: readline.Interface | undefined;
  const stdin = process.stdin;
  const rawInput = live && stdin.isTTY === true;
  const onKeys = (data: string) => {
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (c === '\x03') return quit(); // Ctrl-C
      if (c === '\x04' && input === '') return quit(); // Ctrl-D
      if (c === '\r' || c === '\n') {
        const line = input;
        input = '';
        void execute(cluster, line, quit);
      } else if (c === '\x7f' || c === '\b') {
        input = input.slice(0, -1);
      } else if (c === '\x15') {
        input = '';
      } else if (c === '\x1b') {
        // an escape sequence (arrow keys...): skip it
        const m = /^\x1b(\[[0-9;]*[A-Za-z~]|O[A-Za-z])?/.exec(data.slice(i));
        i += (m?.[0].length ?? 1) - 1;
      } else if (c >= ' ') {
        input += c;
      }
    }
    dirty = true;
  };
  if (rawInput) {
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', onKeys);
    stdin.resume();
  } else {
    rl = readline.createInterface({ input: stdin, terminal: false });
    rl.on('line', (line) => void execute(cluster, line, quit));
    // End of our input: nobody can give commands any more, so stop (this
    // is also how a script or a test ends a run: close stdin or say quit).
    rl.on('close', quit);
  }

  let timer: NodeJS.Timeout | undefined;
  const onResize = () => {
    dirty = true;
  };
  if (live) {
    process.stdout.write('\x1b[?1049h\x1b[H\x1b[2J');
    process.stdout.on('resize', onResize);
    const draw = () => {
      if (!dirty) return;
      dirty = false;
      process.stdout.write(renderScreen(cluster, process.stdout.rows ?? 24, process.stdout.columns ?? 80, input));
    };
    timer = setInterval(() => {
      dirty = true; // the clock and peers' ages change even without events
      draw();
    }, 250);
    draw();
  }

  await done;

  if (timer) clearInterval(timer);
  if (live) {
    process.stdout.off('resize', onResize);
    process.stdout.write('\x1b[?1049l');
  }
  if (rawInput) {
    stdin.off('data', onKeys);
    stdin.setRawMode(false);
  }
  rl?.close();
  stdin.pause();
  stdin.unref?.();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  process.off('exit', onExit);
  const left = cluster.nodes.filter((n) => n.status !== 'exited');
  process.stdout.write(
    left.length === 0 ? 'chanmesh local: every node stopped\n' : `chanmesh local: could not stop ${left.map((n) => n.id).join(', ')}\n`,
  );
  return left.length === 0 ? 0 : 1;
}

