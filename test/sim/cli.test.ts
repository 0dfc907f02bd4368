// `chanmesh sim` as a user runs it: the command line, through bin/chanmesh.js
// (which runs the simulator in a second process with a larger young
// generation), its exit code and its printed hash.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/chanmesh.js');

function sim(args: string[]) {
  const run = spawnSync(process.execPath, [BIN, 'sim', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const hashOf = (stdout: string) => /event log sha256: ([0-9a-f]{64})/.exec(stdout)?.[1];

t.test('a run passes with exit code 0 and prints its hash; the same seed prints the same hash', async (t) => {
  const args = ['--nodes', '5', '--channels', '2', '--duration', '20s', '--faults', 'random', '--seed', '7'];
  const first = sim(args);
  t.equal(first.status, 0, first.stderr);
  t.match(first.stdout, /result: PASS/);
  t.match(first.stdout, /invariants\s+hosting 0, delivery 0, liveness 0, crash 0/);
  const hash = hashOf(first.stdout);
  t.ok(hash, 'the hash is printed');
  t.equal(hashOf(sim(args).stdout), hash, 'a second run prints the same hash');
  t.not(hashOf(sim(['--nodes', '5', '--channels', '2', '--duration', '20s', '--faults', 'random', '--seed', '8']).stdout), hash, 'another seed, another run');
});

t.test('a usage error exits with code 2 and says what is wrong', async (t) => {
  const run = sim(['--nodes', '5', '--no-such-option']);
  t.equal(run.status, 2);
  t.match(run.stderr, /unknown option '--no-such-option'/);
});
