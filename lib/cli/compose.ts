// Reading docker-compose.yml and the Dockerfile: the one description of the
// cluster that `docker compose` and `chanmesh cluster` (network namespaces)
// both run, so the two never drift apart. Pure: text in, data out.
import { parse } from 'yaml';

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

type Yaml = Record<string, unknown>;

function isMap(value: unknown): value is Yaml {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a compose file (merge keys `<<: *anchor` resolved, as Compose does). */
export function parseComposeYaml(text: string): Yaml {
  const doc: unknown = parse(text, { merge: true });
  if (!isMap(doc)) throw new ComposeError('docker-compose.yml: expected a mapping at the top');
  return doc;
}

/**
 * The services of a compose file as chanmesh runs them. `defaultCommand` is
 * the image's CMD (from the Dockerfile), used where a service gives none.
 */
export function readComposeProject(text: string, defaultCommand: string[] = ['node']): ComposeProject {
  const doc = parseComposeYaml(text);
  const servicesNode = doc.services;
  if (!isMap(servicesNode)) throw new ComposeError('docker-compose.yml: no services');
  const networks: ComposeNetwork[] = [];
  if (isMap(doc.networks)) {
    for (const [name, value] of Object.entries(doc.networks)) {
      const net: ComposeNetwork = { name };
      if (isMap(value)) {
        if (typeof value.driver === 'string') net.driver = value.driver;
        const config = isMap(value.ipam) ? value.ipam.config : undefined;
        const first: unknown = Array.isArray(config) ? config[0] : undefined;
        if (isMap(first) && typeof first.subnet === 'string') net.subnet = first.subnet;
      }
      networks.push(net);
    }
  }
  const services: ComposeService[] = [];
  for (const [name, value] of Object.entries(servicesNode)) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new ComposeError(`service name "${name}" is not usable`);
    const svc = isMap(value) ? value : {};
    if (svc.entrypoint !== undefined) {
      const entry = toWords(svc.entrypoint, `${name}.entrypoint`);
      if (entry.length !== 1 || entry[0] !== 'chanmesh') {
        throw new ComposeError(`service ${name}: only the image's chanmesh entrypoint is supported, got ${JSON.stringify(entry)}`);
      }
    }
    const command = svc.command === undefined || svc.command === null ? [...defaultCommand] : toWords(svc.command, `${name}.command`);
    const service: ComposeService = { name, command, environment: readEnvironment(svc.environment, name) };
    const attached = readServiceNetworks(svc.networks);
    if (attached) {
      service.network = attached.name;
      if (attached.ipv4Address) service.ipv4Address = attached.ipv4Address;
    }
    services.push(service);
  }
  const project: ComposeProject = { services, networks };
  if (typeof doc.name === 'string') project.name = doc.name;
  return project;
}

function readEnvironment(value: unknown, service: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (value === undefined || value === null) return env;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string') throw new ComposeError(`service ${service}: environment entries must be strings`);
      const eq = item.indexOf('=');
      // `- NAME` without a value passes the host's variable in Compose; a
      // namespace cluster has no such host environment, so it is left out.
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return env;
  }
  if (!isMap(value)) throw new ComposeError(`service ${service}: environment must be a map or a list`);
  for (const [key, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') throw new ComposeError(`service ${service}: environment ${key} must be a scalar`);
    env[key] = String(v);
  }
  return env;
}

function readServiceNetworks(value: unknown): { name: string; ipv4Address?: string } | undefined {
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return typeof first === 'string' ? { name: first } : undefined;
  }
  if (!isMap(value)) return undefined;
  const entry = Object.entries(value)[0];
  if (!entry) return undefined;
  const [name, config] = entry;
  if (isMap(config) && typeof config.ipv4_address === 'string') return { name, ipv4Address: config.ipv4_address };
  return { name };
}

function toWords(value: unknown, what: string): string[] {
  if (typeof value === 'string') return splitWords(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  throw new ComposeError(`${what}: expected a string or a list of strings`);
}

/** Shell-like word splitting with single and double quotes (no expansion). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new ComposeError(`unterminated quote in: ${text}`);
  if (inWord) words.push(current);
  return words;
}

// ---- Dockerfile -------------------------------------------------------------

export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, USER, HEALTHCHECK, ... */
  keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
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
  /** Of the final stage: the last USER, ENTRYPOINT, CMD, HEALTHCHECK (JSON form decoded). */
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: string;
  /** ENV of the final stage (later instructions win). */
  env: Record<string, string>;
}

/** A small Dockerfile reader: instructions, stages and the final image's settings. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: DockerInstruction[] = [];
  const stages: DockerStage[] = [];
  let pending = '';
  const flush = () => {
    const line = pending.trim();
    pending = '';
    if (!line) return;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(line);
    if (!match) return;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      const stage: DockerStage = { base: from?.[1] ?? args };
      if (from?.[2]) stage.name = from[2];
      stages.push(stage);
    }
    instructions.push({ keyword, args, stage: Math.max(0, stages.length - 1) });
  };
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) continue; // comments and parser directives
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    pending += trimmed;
    flush();
  }
  flush();
  const result: Dockerfile = { instructions, stages, env: {} };
  const finalStage = stages.length - 1;
  for (const ins of instructions) {
    if (ins.stage !== finalStage) continue;
    if (ins.keyword === 'USER') result.user = ins.args;
    if (ins.keyword === 'ENTRYPOINT') result.entrypoint = execForm(ins.args);
    if (ins.keyword === 'CMD') result.cmd = execForm(ins.args);
    if (ins.keyword === 'HEALTHCHECK') result.healthcheck = ins.args;
    if (ins.keyword === 'ENV') Object.assign(result.env, parseEnvInstruction(ins.args));
  }
  return result;
}

/** `ENV A=1 B="two words"` or the legacy `ENV A value with spaces`. */
function parseEnvInstruction(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  const words = splitWords(args);
  if (words.length > 0 && !words[0]!.includes('=')) {
    env[words[0]!] = words.slice(1).join(' ');
    return env;
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

function execForm(args: string): string[] {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
  }
  return ['/bin/sh', '-c', args];
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
