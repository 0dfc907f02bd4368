// What `chanmesh cluster up` leaves in its state directory (cluster.json)
// for the commands after it (`kill`, `partition`, `down`, ...): the schema
// is the one description of the file, and a file that does not match it
// (another version's, edited, cut short) is refused with the reason instead
// of being trusted field by field.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ClusterError } from './shell.ts';

const stringMap = z.record(z.string(), z.string());

const serviceState = z.object({
  name: z.string(),
  ns: z.string(),
  address: z.string(),
  /** The veth end in the hub namespace (the node's end is eth0). */
  hubVeth: z.string(),
  command: z.array(z.string()),
  /** The environment the node runs with (image ENV + compose + cluster). */
  env: stringMap,
  /** The environment a person gets with `exec` (like `docker compose exec`). */
  execEnv: stringMap,
  pid: z.number().int().positive().optional(),
  startedAt: z.number().optional(),
});

const clusterState = z.object({
  version: z.literal(1),
  prefix: z.string(),
  composeFile: z.string(),
  bin: z.string(),
  cwd: z.string(),
  hub: z.string(),
  bridge: z.string(),
  subnet: z.string(),
  composeSubnet: z.string().optional(),
  remapped: z.boolean(),
  services: z.array(serviceState),
  partition: z.array(z.array(z.string())).nullable(),
  createdAt: z.number(),
});

export type ServiceState = z.infer<typeof serviceState>;
export type ClusterState = z.infer<typeof clusterState>;

export class ClusterStateError extends Error {
  override name = 'ClusterStateError';
}

export const statePath = (dir: string) => path.join(dir, 'cluster.json');

/** The state of the cluster up in `dir`; undefined when there is none; ClusterStateError when the file is not one. */
export function readState(dir: string): ClusterState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClusterStateError(`cannot read ${statePath(dir)}: ${(error as Error).message}`);
  }
  return parseState(text, statePath(dir));
}

export function parseState(text: string, file = 'cluster.json'): ClusterState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ClusterStateError(`${file} is not JSON (${(error as Error).message}); \`down\` removes the cluster`);
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== 1) throw new ClusterStateError(`${file} is not a state file of this chanmesh (version ${JSON.stringify(version)}, not 1); \`down\` removes the cluster`);
  const parsed = clusterState.safeParse(json);
  if (!parsed.success) throw new ClusterStateError(`${file} is not a state file of this chanmesh: ${z.prettifyError(parsed.error)}; \`down\` removes the cluster`);
  return parsed.data;
}

/** Written whole to a temporary file and renamed: a reader never sees half a state. */
export function writeState(dir: string, state: ClusterState): void {
  const tmp = `${statePath(dir)}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, statePath(dir));
}

export function requireState(dir: string): ClusterState {
  const state = readState(dir);
  if (!state) throw new ClusterError(`no cluster is up (no ${statePath(dir)}); start one with \`up\``);
  return state;
}

export function findService(state: ClusterState, name: string): ServiceState {
  const svc = state.services.find((s) => s.name === name);
  if (!svc) throw new ClusterError(`no service "${name}" (services: ${state.services.map((s) => s.name).join(', ')})`);
  return svc;
}

