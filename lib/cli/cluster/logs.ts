// `chanmesh cluster logs`: the nodes' log files, interleaved by time, and followed.
import { LineSplitter, type NodeEvent, formatEvent, parseNodeLine } from '../node-output.ts';
import { fileSize, logPath, readFrom } from './processes.ts';
import { sleep } from './shell.ts';
import type { ClusterState } from './state.ts';

export const COLORS = [36, 33, 35, 32, 34, 91, 96, 93];

export interface LogOptions {
  json: boolean;
  /** From the beginning of the files, from their current end, or from given byte offsets. */
  from: 'start' | 'now' | Map<string, number>;
  tail?: number;
}

export function makePrinter(names: string[], json: boolean): (svc: string, line: string) => void {
  const width = Math.max(...names.map((n) => n.length));
  const color = process.stdout.isTTY === true;
  return (svc, line) => {
    if (!line) return;
    // JSON lines, one object a line and nothing else: the node's events as
    // they are, with the service; its chat and other text as `text`.
    if (json) return void process.stdout.write(`${jsonLine(svc, line)}\n`);
    const index = names.indexOf(svc);
    const label = `${svc.padEnd(width)} |`;
    const prefix = color ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
    let text = line;
    const parsed = parseNodeLine(line);
    if (parsed.kind === 'event') {
      text = formatEvent(parsed.event);
      if (color && typeof parsed.event.level === 'number' && parsed.event.level >= 40) {
        text = `\x1b[${parsed.event.level >= 50 ? 31 : 33}m${text}\x1b[0m`;
      }
    }
    process.stdout.write(`${prefix} ${text}\n`);
  };
}

/** One line of a service's output as a JSON line of `logs --json`. */
export function jsonLine(svc: string, line: string): string {
  const parsed = parseNodeLine(line);
  return JSON.stringify(parsed.kind === 'event' ? { service: svc, ...parsed.event } : { service: svc, text: line.replace(/\r$/, '') });
}

/** Prints the logs so far, interleaved by event time (chat lines keep their place). */
export function printHistory(dir: string, names: string[], options: LogOptions, print: (svc: string, line: string) => void): Map<string, number> {
  const offsets = new Map<string, number>();
  const entries: Array<{ time: number; file: number; seq: number; svc: string; line: string }> = [];
  names.forEach((svc, file) => {
    const text = readFrom(logPath(dir, svc), 0);
    let lines = text.split('\n');
    lines.pop(); // partial or empty last line: printed when complete
    offsets.set(svc, Buffer.byteLength(lines.map((l) => `${l}\n`).join('')));
    if (options.tail !== undefined) lines = lines.slice(-options.tail);
    let time = 0;
    lines.forEach((line, seq) => {
      const parsed = parseNodeLine(line);
      if (parsed.kind === 'event' && typeof (parsed.event as NodeEvent).time === 'number') time = parsed.event.time as number;
      entries.push({ time, file, seq, svc, line });
    });
  });
  entries.sort((a, b) => a.time - b.time || a.file - b.file || a.seq - b.seq);
  for (const e of entries) print(e.svc, e.line);
  return offsets;
}

export async function followLogs(state: ClusterState, dir: string, names: string[], options: LogOptions, stop: AbortSignal): Promise<void> {
  const print = makePrinter(
    state.services.map((s) => s.name),
    options.json,
  );
  const offsets =
    options.from === 'start'
      ? printHistory(dir, names, options, print)
      : options.from === 'now'
        ? new Map(names.map((n) => [n, fileSize(logPath(dir, n))]))
        : new Map(options.from);
  const splitters = new Map(names.map((n) => [n, new LineSplitter()]));
  while (!stop.aborted) {
    for (const svc of names) {
      const file = logPath(dir, svc);
      const offset = offsets.get(svc) ?? 0;
      const size = fileSize(file);
      if (size < offset) offsets.set(svc, 0); // truncated or recreated
      if (size <= offset) continue;
      const text = readFrom(file, offset);
      offsets.set(svc, offset + Buffer.byteLength(text));
      for (const line of splitters.get(svc)!.push(text)) print(svc, line);
    }
    await sleep(200);
  }
}
