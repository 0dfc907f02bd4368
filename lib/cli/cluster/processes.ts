// The node processes of the namespace cluster: starting one in its
// namespace with its log and stdin FIFO, stopping it, telling from /proc
// whether it runs, and the tool's own lines in its log.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ClusterError, run, sleep, warn } from './shell.ts';
import type { ClusterState, ServiceState } from './state.ts';

export type ProcessState = 'running' | 'frozen' | 'dead';

/** From /proc: a zombie counts as dead, a stopped process as frozen. */
export function processState(pid: number | undefined): ProcessState {
  if (!pid) return 'dead';
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'dead';
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X' || state === 'x') return 'dead';
  if (state === 'T' || state === 't') return 'frozen';
  return 'running';
}

/** True when the process lives in the named network namespace. */
export function inNamespace(pid: number, ns: string): boolean {
  try {
    const a = fs.statSync(`/proc/${pid}/ns/net`);
    const b = fs.statSync(`/run/netns/${ns}`);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** The service's node process, if it is alive and really ours. */
export function livePid(svc: ServiceState): number | undefined {
  if (!svc.pid || processState(svc.pid) === 'dead') return undefined;
  return inNamespace(svc.pid, svc.ns) ? svc.pid : undefined;
}

export async function waitDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processState(pid) === 'dead') return true;
    await sleep(50);
  }
  return processState(pid) === 'dead';
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export const logPath = (dir: string, svc: string) => path.join(dir, `${svc}.log`);
export const fifoPath = (dir: string, svc: string) => path.join(dir, `${svc}.stdin`);
export const pidPath = (dir: string, svc: string) => path.join(dir, `${svc}.pid`);

/** A line in the service's log written by this tool, so `logs` shows what was done when. */
export function noteInLog(dir: string, svc: ServiceState, event: string, msg: string, fields: Record<string, unknown> = {}, level = 30): void {
  const line = { level, time: Date.now(), node: svc.env.CHANMESH_ID ?? svc.name, source: 'chanmesh-cluster', event, msg, ...fields };
  try {
    fs.appendFileSync(logPath(dir, svc.name), `${JSON.stringify(line)}\n`);
  } catch {
    // the log is a convenience
  }
}

export function startService(state: ClusterState, dir: string, svc: ServiceState): number {
  const fifo = fifoPath(dir, svc.name);
  if (!fs.existsSync(fifo)) run('mkfifo', ['-m', '0600', fifo]);
  // Read-write: the node holds a writer itself, so its stdin never reaches
  // EOF (the node quits on EOF) and `send` can write lines into it later.
  const stdinFd = fs.openSync(fifo, fs.constants.O_RDWR);
  const logFd = fs.openSync(logPath(dir, svc.name), 'a');
  try {
    noteInLog(dir, svc, 'cluster.start', `starting ${svc.name} in ${svc.ns} at ${svc.address}`, { command: svc.command });
    // `ip netns exec` execs the command in place: the pid is the node's.
    const child = spawn('ip', ['netns', 'exec', svc.ns, process.execPath, state.bin, ...svc.command], {
      cwd: state.cwd,
      env: svc.env,
      detached: true,
      stdio: [stdinFd, logFd, logFd],
    });
    child.on('error', () => {});
    child.unref();
    if (!child.pid) throw new ClusterError(`could not start ${svc.name}`);
    svc.pid = child.pid;
    svc.startedAt = Date.now();
    fs.writeFileSync(pidPath(dir, svc.name), `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(stdinFd);
    fs.closeSync(logFd);
  }
}

export async function stopService(dir: string, svc: ServiceState, graceMs: number): Promise<void> {
  const pid = livePid(svc);
  if (!pid) return;
  signal(pid, 'SIGCONT');
  if (graceMs > 0) {
    signal(pid, 'SIGTERM');
    if (await waitDead(pid, graceMs)) return;
  }
  signal(pid, 'SIGKILL');
  await waitDead(pid, 3000);
  noteInLog(dir, svc, 'cluster.stop', `${svc.name} stopped`);
}

/** Waits for `node.started` in each service's log (written after `from` bytes). */
export async function waitStarted(dir: string, services: ServiceState[], offsets: Map<string, number>, timeoutMs: number): Promise<string[]> {
  const pending = new Set(services.map((s) => s.name));
  const failed: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const svc of services) {
      if (!pending.has(svc.name)) continue;
      const text = readFrom(logPath(dir, svc.name), offsets.get(svc.name) ?? 0);
      if (text.split('\n').some((line) => line.includes('"node.started"'))) {
        pending.delete(svc.name);
      } else if (processState(svc.pid) === 'dead') {
        pending.delete(svc.name);
        failed.push(svc.name);
        warn(`${svc.name} exited during start; the end of ${logPath(dir, svc.name)}:`);
        process.stderr.write(indent(tail(text, 15)));
      }
    }
    if (pending.size > 0) await sleep(100);
  }
  for (const name of pending) {
    warn(`${name} did not log node.started within ${timeoutMs} ms (still running; see \`logs ${name}\`)`);
    failed.push(name);
  }
  return failed;
}

export function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return '';
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function tail(text: string, lines: number): string {
  return text.split('\n').filter(Boolean).slice(-lines).join('\n') + '\n';
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');
}
