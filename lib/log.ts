// pino setup: structured, one line per meaningful state change, to stderr
// (stdout carries chat lines). Pretty on a TTY, JSON otherwise.
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a TTY. */
  pretty?: boolean;
  /** Fields on every line, e.g. the node id. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? 'info';
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const base = options.base ?? {};
  if (pretty) {
    return pino({
      level,
      base,
      transport: {
        target: 'pino-pretty',
        // One line per event: "12:00:01.234 INFO alice peer.discovered {peer: ...}".
        options: {
          destination: 2,
          colorize: true,
          singleLine: true,
          messageFormat: '{node} {event}',
          ignore: 'pid,hostname,node,event',
          translateTime: 'HH:MM:ss.l',
        },
      },
    });
  }
  return pino({ level, base }, pino.destination({ fd: 2, sync: false }));
}
