// Reading what a `chanmesh node` prints: JSON log events on stderr
// (docs/log-events.md) and chat lines `[#x] <authorId> text` on stdout. Used
// by `chanmesh local` (live view), `chanmesh cluster logs` and the tests.

/** One pino line with a stable `event` field (docs/log-events.md). */
export interface NodeEvent {
  event?: string;
  node?: string;
  level?: number;
  time?: number;
  msg?: string;
  [field: string]: unknown;
}

export interface ChatLine {
  channel: string;
  author: string;
  text: string;
}

export type NodeLine =
  | { kind: 'event'; event: NodeEvent }
  | { kind: 'chat'; chat: ChatLine }
  | { kind: 'text'; text: string };

const CHAT_LINE = /^\[([#@][^\]\s]{1,63})\] <([^>]{1,64})> ?(.*)$/;

export function parseChatLine(line: string): ChatLine | undefined {
  const m = CHAT_LINE.exec(line);
  return m ? { channel: m[1]!, author: m[2]!, text: m[3]! } : undefined;
}

export function parseNodeLine(line: string): NodeLine {
  const trimmed = line.replace(/\r$/, '');
  if (trimmed.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return { kind: 'event', event: value as NodeEvent };
      }
    } catch {
      // not JSON after all: plain text
    }
  }
  const chat = parseChatLine(trimmed);
  if (chat) return { kind: 'chat', chat };
  return { kind: 'text', text: trimmed };
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export function levelName(level: unknown): string {
  return typeof level === 'number' ? (LEVELS[level] ?? String(level)) : 'INFO';
}

/** HH:MM:SS.mmm in local time. */
export function clockTime(ms: number = Date.now()): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'node', 'event', 'msg']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.join(',');
  return JSON.stringify(value);
}

/** The fields of an event as `k=v` pairs (the stable fields, not pino's). */
export function formatFields(event: NodeEvent): string {
  return Object.entries(event)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
}

/** One readable line: `12:00:01.123 WARN  node2 takeover channel=#lobby epoch=3`. */
export function formatEvent(event: NodeEvent): string {
  const time = clockTime(typeof event.time === 'number' ? event.time : Date.now());
  const level = levelName(event.level).padEnd(5);
  const what = event.event ?? event.msg ?? '';
  const msg = event.event && event.msg && event.msg !== event.event ? ` "${event.msg}"` : '';
  const fields = formatFields(event);
  return `${time} ${level} ${event.node ?? '-'} ${what}${msg}${fields ? ` ${fields}` : ''}`;
}

/** Splits a stream of chunks into lines; `push` returns the complete ones. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  flush(): string[] {
    const rest = this.rest;
    this.rest = '';
    return rest ? [rest] : [];
  }
}
