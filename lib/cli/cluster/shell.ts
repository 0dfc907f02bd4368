// The small tools every cluster command uses: output, running `ip` and
// friends, the root check.
import { spawnSync } from 'node:child_process';

/** Exit code for "this machine can't do it" (not root, no `ip`, no netns). */
export const EXIT_UNAVAILABLE = 2;

export class ClusterError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function warn(line: string): void {
  process.stderr.write(`chanmesh cluster: ${line}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function run(cmd: string, args: string[], allowFail = false): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  if (result.error) {
    if (allowFail) return { ok: false, stdout: '', stderr: String(result.error.message) };
    throw new ClusterError(`${cmd} ${args.join(' ')}: ${result.error.message}`);
  }
  const ok = result.status === 0;
  if (!ok && !allowFail) {
    throw new ClusterError(`\`${cmd} ${args.join(' ')}\` failed: ${result.stderr.trim() || `exit ${result.status}`}`);
  }
  return { ok, stdout: result.stdout, stderr: result.stderr };
}

export const ip = (...args: string[]) => run('ip', args).stdout;

export function requireRootAndIp(): void {
  if (process.platform !== 'linux') {
    throw new ClusterError('network namespaces need Linux; on other systems use `docker compose up` or `npm start`', EXIT_UNAVAILABLE);
  }
  if (process.getuid?.() !== 0) {
    throw new ClusterError(
      'needs root to create network namespaces: run `sudo npm run cluster -- <command>` ' +
        '(without root: `npm start` runs a local cluster on loopback)',
      EXIT_UNAVAILABLE,
    );
  }
  const probe = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new ClusterError("the `ip` command (iproute2) was not found: install it, e.g. `apt-get install iproute2`", EXIT_UNAVAILABLE);
  }
}

export function validatePrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]{0,5}-$/.test(prefix)) {
    throw new ClusterError(`--prefix must be 1-6 lower-case letters/digits and a dash, like "cm-" (got "${prefix}")`);
  }
}

export function listNamespaces(): string[] {
  const out = run('ip', ['netns', 'list'], true).stdout;
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.length > 0);
}
