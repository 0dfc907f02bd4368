// The run's event log: every pino line of every simulated node (and the
// simulator's own fault and workload lines), in virtual-time order, hashed
// with SHA-256 as it is written. Same seed + options -> same bytes -> same
// hash (the determinism check). Lines carry `vt` (virtual ms) instead of a
// wall-clock timestamp, and no pid/hostname, so nothing of the real process
// leaks into them.
//
// Checkers subscribe to parsed records; a line is parsed once, whatever the
// number of subscribers.
import { createHash, type Hash } from 'node:crypto';
import pino, { type Logger } from 'pino';

/** One parsed log line. `node` is the peer id, or `sim` for the simulator's own lines. */
export interface LogRecord {
  vt: number;
  level: number;
  node: string;
  event?: string;
  [field: string]: unknown;
}

/** Who wrote a line: the simulator, or one incarnation of one node. */
export interface LogSource {
  readonly id: string;
  readonly incarnation: number;
}

export type LogSubscriber = (record: LogRecord, source: LogSource) => void;

export interface EventLogOptions {
  /** Keep every line in memory (for `--log` and the report). Default true. */
  keepLines?: boolean;
}

export class EventLog {
  private readonly hash: Hash = createHash('sha256');
  private digest?: string;
  private readonly subscribers: LogSubscriber[] = [];
  readonly lines: string[] = [];
  private readonly keepLines: boolean;
  lineCount = 0;
  byteCount = 0;
  /** Lines written after sha256() sealed the log (dropped). */
  linesAfterSeal = 0;

  constructor(options: EventLogOptions = {}) {
    this.keepLines = options.keepLines ?? true;
  }

  subscribe(subscriber: LogSubscriber): void {
    this.subscribers.push(subscriber);
  }

  /** @internal A pino destination calls this with one complete line (newline included). */
  write(line: string, source: LogSource): void {
    if (this.digest !== undefined) {
      this.linesAfterSeal++; // a microtask of an abandoned process, after the run: not part of it
      return;
    }
    this.hash.update(line);
    this.lineCount++;
    this.byteCount += line.length;
    if (this.keepLines) this.lines.push(line);
    if (this.subscribers.length === 0) return;
    const record = JSON.parse(line) as LogRecord;
    for (const subscriber of this.subscribers) subscriber(record, source);
  }

  /** The SHA-256 of every byte written, hex. Seals the log. */
  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  /**
   * A pino logger writing synchronously into this log: virtual timestamps
   * (`"vt":<ms>`), `node` on every line, no pid or hostname. `alive()` is
   * asked per line: a crashed process writes nothing more.
   */
  logger(source: LogSource, now: () => number, alive: () => boolean = () => true, level = 'info'): Logger {
    const destination = {
      write: (line: string): void => {
        if (alive()) this.write(line, source);
      },
    };
    return pino({ level, base: { node: source.id }, timestamp: () => `,"vt":${now()}` }, destination);
  }
}
