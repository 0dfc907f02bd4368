#!/usr/bin/env node
// The `chanmesh` command. It runs the TypeScript sources through tsx, so a
// fresh `npm ci` is all a user needs: no separate build step.
import { spawn } from 'node:child_process';
import { register } from 'tsx/esm/api';

// The simulator makes short-lived objects at a great rate (machine
// snapshots, decoded PDUs, log records): with V8's default young generation
// many of them outlive two scavenges and then cost old-generation
// collections; a larger one saves a tenth of a short run and more than a
// third of an hour-long one (docs/simulator.md "Speed"). V8 reads the size
// only when the process starts, so `sim` runs itself again with it (unless
// node was given a size).
const YOUNG_GENERATION = '--max-semi-space-size=32';
const sized = process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size'));

if (process.argv[2] === 'sim' && !sized) {
  // The IPC channel is only a lifeline: the child ends when it closes, so a
  // launcher killed outright (SIGKILL) takes its simulator with it.
  const child = spawn(process.execPath, [...process.execArgv, YOUNG_GENERATION, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  // Ctrl-C reaches the child too (one process group); it decides how to end.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      // End the way it ended, as the shell expects (130 after Ctrl-C).
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  if (process.argv[2] === 'sim' && process.channel !== undefined) {
    // Started by the launcher above: end with it, as if sent SIGTERM; the
    // channel must not keep a finished run alive.
    process.channel.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  register();
  await import('../lib/cli/main.ts');
}
