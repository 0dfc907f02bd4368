// Real `chanmesh node` processes for integration tests: each test gets its
// own multicast group/port (tests run in parallel and must not hear each
// other), JSON logs are parsed into events, stdout chat lines collected.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHANMESH_BIN = path.join(root, 'bin/chanmesh.js');

export interface LogEvent {
  event?: string;
  node?: string;
  time: number;
  [key: string]: unknown;
}

/** A group no other test run uses (random address and port in 239.255.x). */
export function uniqueGroup(): string {
  const a = 10 + Math.floor(Math.random() * 240);
  const b = 10 + Math.floor(Math.random() * 240);
  const port = 20000 + Math.floor(Math.random() * 20000);
  return `239.255.${a}.${b}:${port}`;
}

export interface NodeProcessOptions {
  id: string;
  group: string;
  args?: string[];
  pduIntervalMs?: number;
  /** Options for node itself, before the script (e.g. --cpu-prof); none by default. */
  nodeArgs?: string[];
  /** Another build's bin/chanmesh.js (benchmark A/B); this checkout's by default. */
  bin?: string;
}

export class NodeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: LogEvent[] = [];
  readonly lines: string[] = [];
  readonly stderrText: string[] = [];
  private waiters: Array<() => void> = [];
  exited = false;
  /** The exit code, once exited (null after a signal). */
  exitCode: number | null = null;

  constructor(readonly options: NodeProcessOptions) {
    const args = [
      ...(options.nodeArgs ?? []),
      options.bin ?? CHANMESH_BIN,
      'node',
      '--id',
      options.id,
      '--group',
      options.group,
      '--iface',
      '127.0.0.1',
      '--pdu-interval',
      String(options.pduIntervalMs ?? 200),
      '--log-format',
      'json',
      '--log-level',
      'debug',
      ...(options.args ?? []),
    ];
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    readline.createInterface({ input: this.child.stderr }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as LogEvent);
      } catch {
        this.stderrText.push(line);
      }
      this.wake();
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      this.wake();
    });
  }

  get id(): string {
    return this.options.id;
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Wait until `predicate` holds, re-checked on every output line. */
  async until<T>(what: string, predicate: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (Date.now() > deadline) {
        const tail = this.events.slice(-15).map((e) => JSON.stringify(e)).join('\n');
        throw new Error(`${this.id}: timed out waiting for ${what}\nlast events:\n${tail}\nstdout:\n${this.lines.slice(-10).join('\n')}\n${this.stderrText.slice(-10).join('\n')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  event(name: string, match: (e: LogEvent) => boolean = () => true): LogEvent | undefined {
    return this.events.find((e) => e.event === name && match(e));
  }

  waitEvent(name: string, match: (e: LogEvent) => boolean = () => true, timeoutMs?: number): Promise<LogEvent> {
    return this.until(`event ${name}`, () => this.event(name, match), timeoutMs);
  }

  waitLine(match: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.until(`line ${match}`, () => this.lines.find((l) => (typeof match === 'string' ? l === match : match.test(l))), timeoutMs);
  }

  /** Run a console command and collect the `* ...` lines it prints. */
  async query(command: string, prefix: string, settleMs = 300): Promise<string[]> {
    const before = this.lines.length;
    this.send(command);
    await new Promise((r) => setTimeout(r, settleMs));
    return this.lines.slice(before).filter((l) => l.startsWith(prefix));
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig);
  }

  /**
   * Kill the process. A `node.fault` it logged (a machine threw: a bug, that
   * can leave a node running but deaf or mute) fails the test whose
   * teardown this is, whatever the test itself checked.
   */
  async stop(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
      await this.until('exit', () => this.exited, 5000).catch(() => {});
    }
    const fault = this.event('node.fault');
    if (fault) throw new Error(`${this.id} logged node.fault: ${JSON.stringify(fault.err ?? fault)}`);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export function startNodes(group: string, ids: string[], extra: (id: string) => string[] = () => [], pduIntervalMs = 200): NodeProcess[] {
  return ids.map((id) => new NodeProcess({ id, group, args: extra(id), pduIntervalMs }));
}
