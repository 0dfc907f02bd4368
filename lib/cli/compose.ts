// Reading docker-compose.yml and the Dockerfile: the one description of the
// cluster that `docker compose` and `chanmesh cluster` (network namespaces)
// both run, so the two never drift apart. Pure: text in, data out. The
// parsing is libraries' (yaml, a zod schema, shlex, dockerfile-ast); what is
// here is which parts of the two files chanmesh reads.
import { parse } from 'yaml';
import { z } from 'zod';
import { Cmd, DockerfileParser, Entrypoint, Env, Healthcheck, type Instruction, ModifiableInstruction, User } from 'dockerfile-ast';
import { split } from 'shlex';

export interface ComposeService {
  name: string;
  /** The chanmesh arguments: the service's `command`, else the image's CMD. */
  command: string[];
  /** The service's environment (variables that have a value). */
  environment: Record<string, string>;
  /** The network the service is attached to (the first one). */
  network?: string;
  /** Its fixed address on that network, when the file gives one. */
  ipv4Address?: string;
}

export interface ComposeNetwork {
  name: string;
  driver?: string;
  /** The first IPAM subnet, e.g. 172.28.77.0/24. */
  subnet?: string;
}

export interface ComposeProject {
  name?: string;
  services: ComposeService[];
  networks: ComposeNetwork[];
}

export class ComposeError extends Error {
  override name = 'ComposeError';
}

/**
 * The part of the Compose file format chanmesh runs, as a schema: a service's
 * `command` and `entrypoint` (a string or a list of words), its
 * `environment` (a map or a list of `NAME=value`), its networks (a list of
 * names, or a map of name to `ipv4_address`), and the networks' first IPAM
 * subnet. Every other key is Compose's and passes through unread.
 */
const words = z
  .union([z.string(), z.array(z.union([z.string(), z.number()]))])
  .transform((value, ctx) => (typeof value === 'string' ? splitOrReport(value, ctx) : value.map(String)))
  .refine((list) => list.every((word) => !word.includes('\0')), 'an argument holds no NUL');

const environment = z
  .union([
    // `- NAME` without a value passes the host's variable in Compose; a
    // namespace cluster has no such host environment, so it is left out.
    z.array(z.string()).transform((list) =>
      Object.fromEntries(
        list.flatMap((item) => {
          const eq = item.indexOf('=');
          return eq > 0 ? [[item.slice(0, eq), item.slice(eq + 1)]] : [];
        }),
      ),
    ),
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()).transform((map) => Object.fromEntries(Object.entries(map).flatMap(([key, value]) => (value === null ? [] : [[key, String(value)]])))),
  ])
  .nullish()
  .transform((env): Record<string, string> => env ?? {})
  // What a process environment can hold: spawn refuses a NUL, and a name
  // with `=` would become another variable (up then stopped half-way, its
  // namespaces left for `down`).
  .refine((env) => Object.entries(env).every(([key, value]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !value.includes('\0')), 'environment names must be letters, digits and _, and values hold no NUL');

const serviceNetworks = z
  .union([z.array(z.string()), z.record(z.string(), z.looseObject({ ipv4_address: z.string().optional() }).nullable())])
  .optional()
  .transform((networks): { name: string; ipv4Address?: string } | undefined => {
    if (networks === undefined) return undefined;
    if (Array.isArray(networks)) return networks[0] === undefined ? undefined : { name: networks[0] };
    const first = Object.entries(networks)[0];
    if (first === undefined) return undefined;
    const [name, config] = first;
    return config?.ipv4_address === undefined ? { name } : { name, ipv4Address: config.ipv4_address };
  });

const service = z
  .looseObject({
    entrypoint: words
      .refine((entry) => entry.length === 1 && entry[0] === 'chanmesh', { message: "only the image's chanmesh entrypoint is supported" })
      .optional(),
    command: words.nullish(),
    environment,
    networks: serviceNetworks,
  })
  .nullable()
  .transform((svc) => svc ?? { environment: {}, networks: undefined, command: undefined });

const network = z
  .looseObject({
    driver: z.string().optional(),
    ipam: z.looseObject({ config: z.array(z.looseObject({ subnet: z.string().optional() })).optional() }).optional(),
  })
  .nullable();

const composeFile = z.looseObject({
  name: z.string().optional(),
  services: z.record(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'not a usable service name'), service),
  networks: z.record(z.string(), network).nullish(),
});

/** Shell-like word splitting (POSIX quoting, no expansion), as Compose splits a string `command`; an unterminated quote is the schema's error. */
function splitOrReport(text: string, ctx: z.RefinementCtx): string[] {
  try {
    return split(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message} in: ${text}` });
    return z.NEVER;
  }
}

/** Parses a compose file (merge keys `<<: *anchor` resolved, as Compose does). */
export function parseComposeYaml(text: string): Record<string, unknown> {
  const doc: unknown = parse(text, { merge: true });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ComposeError('docker-compose.yml: expected a mapping at the top');
  return doc as Record<string, unknown>;
}

/**
 * The services of a compose file as chanmesh runs them. `defaultCommand` is
 * the image's CMD (from the Dockerfile), used where a service gives none.
 */
export function readComposeProject(text: string, defaultCommand: string[] = ['node']): ComposeProject {
  const parsed = composeFile.safeParse(parseComposeYaml(text));
  if (!parsed.success) throw new ComposeError(`docker-compose.yml: ${z.prettifyError(parsed.error)}`);
  const doc = parsed.data;
  const networks = Object.entries(doc.networks ?? {}).map(([name, value]): ComposeNetwork => {
    const net: ComposeNetwork = { name };
    if (value?.driver !== undefined) net.driver = value.driver;
    const subnet = value?.ipam?.config?.[0]?.subnet;
    if (subnet !== undefined) net.subnet = subnet;
    return net;
  });
  const services = Object.entries(doc.services).map(([name, svc]): ComposeService => {
    const service: ComposeService = { name, command: svc.command ?? [...defaultCommand], environment: svc.environment };
    if (svc.networks) {
      service.network = svc.networks.name;
      if (svc.networks.ipv4Address) service.ipv4Address = svc.networks.ipv4Address;
    }
    return service;
  });
  const project: ComposeProject = { services, networks };
  if (doc.name !== undefined) project.name = doc.name;
  return project;
}

// ---- Dockerfile -------------------------------------------------------------

export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, USER, HEALTHCHECK, ... */
  keyword: string;
  /** The arguments after the flags, continuation lines joined. */
  args: string;
  /** The instruction's flags (`--from=build` is `{ from: 'build' }`). */
  flags: Record<string, string>;
  /** Index of the build stage (0-based) the instruction belongs to. */
  stage: number;
}

export interface DockerStage {
  base: string;
  name?: string;
}

export interface Dockerfile {
  instructions: DockerInstruction[];
  stages: DockerStage[];
  /** Of the final stage: the last USER, ENTRYPOINT, CMD, HEALTHCHECK (exec form decoded). */
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: string;
  /** ENV of the final stage (later instructions win). */
  env: Record<string, string>;
}

/** A Dockerfile's instructions and stages, and the final image's settings (read with dockerfile-ast). */
export function parseDockerfile(text: string): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const fromLines = parsed.getFROMs().map((from) => from.getRange().start.line);
  const stageOf = (instruction: Instruction) => Math.max(0, fromLines.filter((line) => line <= instruction.getRange().start.line).length - 1);
  const stages = parsed.getFROMs().map((from): DockerStage => {
    const stage: DockerStage = { base: from.getImage() ?? '' };
    const name = from.getBuildStage();
    if (name) stage.name = name;
    return stage;
  });
  const instructions = parsed.getInstructions().map(
    (instruction): DockerInstruction => ({
      keyword: instruction.getKeyword().toUpperCase(),
      args: instruction.getArgumentsContent() ?? '',
      flags: instruction instanceof ModifiableInstruction ? Object.fromEntries(instruction.getFlags().map((flag) => [flag.getName(), flag.getValue() ?? ''])) : {},
      stage: stageOf(instruction),
    }),
  );
  const result: Dockerfile = { instructions, stages, env: {} };
  const finalStage = stages.length - 1;
  parsed.getInstructions().forEach((instruction, i) => {
    const { stage, args } = instructions[i]!;
    if (stage !== finalStage) return;
    if (instruction instanceof User) result.user = args;
    if (instruction instanceof Entrypoint) result.entrypoint = execForm(instruction, args);
    if (instruction instanceof Cmd) result.cmd = execForm(instruction, args);
    if (instruction instanceof Healthcheck) result.healthcheck = args;
    if (instruction instanceof Env) for (const property of instruction.getProperties()) result.env[property.getName()] = property.getValue() ?? '';
  });
  return result;
}

/** The command of a CMD or ENTRYPOINT: the exec form's strings, else the shell form run by /bin/sh. */
function execForm(instruction: Cmd | Entrypoint, args: string): string[] {
  const strings = instruction.getJSONStrings();
  return strings.length > 0 ? strings.map((s) => s.getJSONValue()) : ['/bin/sh', '-c', args];
}

// ---- IPv4 addresses ---------------------------------------------------------

export interface Cidr {
  network: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new ComposeError(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const prefix = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new ComposeError(`bad prefix in ${text}`);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipToInt(ip ?? '') / size) * size;
  return { network, prefix };
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  const size = 2 ** (32 - cidr.prefix);
  return ip >= cidr.network && ip < cidr.network + size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.network) || cidrContains(b, a.network);
}

export function formatCidr(cidr: Cidr): string {
  return `${intToIp(cidr.network)}/${cidr.prefix}`;
}

/** RFC 1918 private ranges. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(parseCidr);

export function isPrivateCidr(cidr: Cidr): boolean {
  const size = 2 ** (32 - cidr.prefix);
  return PRIVATE_RANGES.some((r) => cidrContains(r, cidr.network) && cidrContains(r, cidr.network + size - 1));
}
