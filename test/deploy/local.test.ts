// `chanmesh local` (npm start) without a terminal: it prints events as lines,
// runs three nodes that talk, and leaves no process behind however it ends:
// `quit`, SIGTERM, or a SIGKILL of its own while a node is frozen.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cmdline, descendantsOf, procState, waitFor } from './proc.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'bin/chanmesh.js');

interface LocalRun {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  nodePids: () => Map<string, number>;
}

function startLocal(): LocalRun {
  const child = spawn(process.execPath, [BIN, 'local', '--pdu-interval', '200ms', '--chatter', '500ms'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const nodePids = () => {
    const pids = new Map<string, number>();
    for (const line of lines) {
      const m = /local {2}(node\d) started pid=(\d+)/.exec(line);
      if (m) pids.set(m[1]!, Number(m[2]));
    }
    return pids;
  };
  return { child, lines, exited, nodePids };
}

/** Three nodes running as our children, and every node saw chat from the others. */
async function running(t: { ok: (v: unknown, m: string) => void; teardown: (fn: () => void) => void }, run: LocalRun) {
  t.teardown(() => {
    for (const pid of [run.child.pid!, ...descendantsOf(run.child.pid!)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  const explain = () => run.lines.slice(-30).join('\n');
  const pids = await waitFor('three nodes to start', () => (run.nodePids().size === 3 ? run.nodePids() : undefined), 20_000, explain);
  for (const [id, pid] of pids) {
    t.ok(procState(pid) === 'running', `${id} (pid ${pid}) runs`);
    t.ok(descendantsOf(run.child.pid!).includes(pid), `${id} is a child of chanmesh local`);
  }
  await waitFor('node.started of all three', () => run.lines.filter((l) => / node\.started /.test(l)).length >= 3, 30_000, explain);
  for (const id of ['node1', 'node2', 'node3']) {
    await waitFor(`${id} to receive chatter`, () => run.lines.some((l) => l.includes(`chat   ${id} saw [#lobby] <node`) && !l.includes(`<${id}>`)), 30_000, explain);
  }
  t.ok(true, 'every node receives the others\' chatter');
  return pids;
}

t.test('quit: every node stops, nothing is left', async (t) => {
  const run = startLocal();
  const pids = await running(t, run);
  // Each node serves its metrics on a free loopback port, which it logs.
  for (const id of pids.keys()) {
    const port = Number(run.lines.map((l) => new RegExp(` ${id} metrics\\.listening address=127\\.0\\.0\\.1 port=(\\d+) `).exec(l)?.[1]).find(Boolean));
    t.ok(port > 0, `${id} serves its metrics on port ${port}`);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    t.match(text, new RegExp(`^chanmesh_node_info\\{peer_id="${id}"\\} 1$`, 'm'), `and it is ${id}'s`);
  }
  const everything = descendantsOf(run.child.pid!);
  t.ok(everything.length >= 4, `children: ${everything.map((p) => `${p} ${cmdline(p).slice(0, 60)}`).join('; ')}`);
  run.child.stdin.write('quit\n');
  const { code } = await run.exited;
  t.equal(code, 0, 'exit code 0');
  t.ok(run.lines.some((l) => l.includes('every node stopped')), 'says every node stopped');
  await waitFor('every child to be gone', () => everything.every((p) => procState(p) === 'dead'), 5000);
  for (const [id, pid] of pids) t.equal(procState(pid), 'dead', `${id} (pid ${pid}) is gone`);
  t.ok(everything.every((p) => procState(p) === 'dead'), 'no descendant left (reaper, tsx helpers)');
});

t.test('kill and restart commands; SIGTERM stops everything', async (t) => {
  const run = startLocal();
  const pids = await running(t, run);
  run.child.stdin.write('kill 2\n');
  await waitFor('node2 to be killed', () => run.lines.some((l) => /local {2}node2 killed \(SIGKILL\)/.test(l)), 5000);
  t.equal(procState(pids.get('node2')!), 'dead', 'kill 2 killed node2');
  run.child.stdin.write('restart 2\n');
  const restarted = await waitFor('node2 to start again', () => {
    const pid = run.nodePids().get('node2');
    return pid !== undefined && pid !== pids.get('node2') ? pid : undefined;
  }, 5000);
  t.ok(procState(restarted) === 'running', `node2 runs again (pid ${restarted})`);
  const everything = descendantsOf(run.child.pid!);
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  t.equal(code, 0, 'SIGTERM: exit code 0');
  await waitFor('every child to be gone', () => everything.every((p) => procState(p) === 'dead'), 5000);
  t.ok(everything.every((p) => procState(p) === 'dead'), 'no process left');
});

t.test('SIGKILL of chanmesh local while a node is frozen: the nodes still go', async (t) => {
  const run = startLocal();
  const pids = await running(t, run);
  run.child.stdin.write('freeze 2\n');
  await waitFor('node2 to be frozen', () => procState(pids.get('node2')!) === 'frozen', 5000);
  const everything = descendantsOf(run.child.pid!);
  run.child.kill('SIGKILL');
  await run.exited;
  await waitFor(
    'every child, the frozen one too, to be gone',
    () => everything.every((p) => procState(p) === 'dead'),
    10_000,
    () => everything.map((p) => `${p} ${procState(p)} ${cmdline(p).slice(0, 80)}`).join('\n'),
  );
  t.ok(true, `none of ${everything.length} processes is left`);
});
