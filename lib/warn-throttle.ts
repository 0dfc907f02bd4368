// Warn lines that a stranger can cause at will, one per connection or per
// datagram (connection.rejected, decode.error, peer.rejected), are throttled
// per kind: a flood must not turn into a log that fills the disk, nor bury
// the lines an operator needs. In each window of a kind the first lines are
// warn lines as before; the rest go to debug, in full, and when the window
// ends one warn line says how many there were (docs/log-events.md).
import type { Logger } from 'pino';
import type { Clock, TimerId } from './clock.ts';

/** Warn lines of one kind per window; the rest of the window's go to debug. */
export const WARN_BURST = 10;
export const WARN_WINDOW_MS = 10_000;
/** Kinds are few (events times codes); the bound only keeps an error message used as a code from growing the map. */
export const MAX_KINDS = 256;

/** What makes two lines the same kind: the event and its code or reason (and transport). */
export interface WarnKind {
  event: string;
  transport?: string;
  code?: string;
  reason?: string;
}

interface Window {
  kind: WarnKind;
  startedAt: number;
  lines: number;
  /** Lines sent to debug instead; counted in a warn line at the window's end. */
  throttled: number;
  /** Set at the first throttled line: ends the window. */
  timer: TimerId | undefined;
}

export class WarnThrottle {
  private throttledTotal = 0;
  /** Per kind, oldest window first. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly burst = WARN_BURST,
    private readonly windowMs = WARN_WINDOW_MS,
  ) {}

  warn(kind: WarnKind, detail: Record<string, unknown>): void {
    const key = `${kind.event}\0${kind.transport ?? ''}\0${kind.code ?? ''}\0${kind.reason ?? ''}`;
    const now = this.clock.now();
    const window = this.windowOf(key, kind, now);
    if (window.lines < this.burst) {
      window.lines++;
      this.log.warn({ ...kind, ...detail });
      return;
    }
    window.throttled++;
    this.throttledTotal++;
    this.log.debug({ ...kind, ...detail });
    window.timer ??= this.clock.setTimeout(() => {
      window.timer = undefined;
      this.end(key);
    }, window.startedAt + this.windowMs - now);
  }

  /** Lines sent to debug instead of warn, since start. */
  get throttled(): number {
    return this.throttledTotal;
  }

  /** End every window now, with its count (the node is stopping). */
  stop(): void {
    for (const key of [...this.windows.keys()]) this.end(key);
  }

  /** The kind's window now: the open one, or a new one if it has run its time. */
  private windowOf(key: string, kind: WarnKind, now: number): Window {
    const open = this.windows.get(key);
    if (open !== undefined && now - open.startedAt < this.windowMs) return open;
    this.end(key);
    const window: Window = { kind, startedAt: now, lines: 0, throttled: 0, timer: undefined };
    this.windows.set(key, window);
    if (this.windows.size > MAX_KINDS) this.end(this.windows.keys().next().value!);
    return window;
  }

  private end(key: string): void {
    const window = this.windows.get(key);
    if (window === undefined) return;
    this.windows.delete(key);
    if (window.timer !== undefined) this.clock.clearTimeout(window.timer);
    if (window.throttled > 0) {
      this.log.warn({ ...window.kind, throttled: window.throttled, windowMs: Math.round(this.clock.now() - window.startedAt) });
    }
  }
}
