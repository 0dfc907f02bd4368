// Parsers for CLI option values. Every flag of `chanmesh node` can also come
// from an environment variable CHANMESH_<FLAG> (commander's .env()).
import { type CommanderError, InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import net from 'node:net';
import type { Endpoint } from '../net/transport.ts';
import { isPduInterval, PDU_INTERVAL_RULE } from '../node/config.ts';

export function parseInteger(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

/** The longest a Node timer waits (2^31 - 1 ms, 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** "250", "250ms", "2s", "10m" -> milliseconds, at most what a timer can wait. */
export function parseDuration(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : ms(value as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a duration like 250, 250ms, 2s or 10m, got "${value}"`);
  }
  if (n > MAX_TIMER_MS) throw new InvalidArgumentError(`at most 24 days (a timer's longest wait), got "${value}"`);
  return n;
}

/** --pdu-interval, of `chanmesh node` and `chanmesh sim` alike: a duration in the range a node runs at. */
export function parsePduInterval(value: string): number {
  const ms = parseDuration(value);
  if (!isPduInterval(ms)) throw new InvalidArgumentError(PDU_INTERVAL_RULE);
  return ms;
}

export interface GroupAddress {
  address: string;
  port: number;
}

export function parseGroup(value: string): GroupAddress {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected <ipv4>:<port>, got "${value}"`);
  const address = match[1]!;
  const port = Number(match[2]);
  const first = Number(address.split('.')[0]);
  if (first < 224 || first > 239) throw new InvalidArgumentError(`${address} is not an IPv4 multicast address`);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`bad port ${port}`);
  return { address, port };
}

/**
 * "9464", "0.0.0.0:9464" or "[::]:9464". A port alone is on loopback: an
 * operator's port is reachable from elsewhere only when asked for.
 */
export function parseListen(value: string): Endpoint {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):)?(\d{1,5})$/.exec(value);
  const address = match?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '127.0.0.1';
  if (!match || net.isIP(address) === 0) throw new InvalidArgumentError(`expected <port>, <ipv4>:<port> or [<ipv6>]:<port>, got "${value}"`);
  const port = Number(match[2]);
  if (port > 65535) throw new InvalidArgumentError(`bad port ${port}`);
  return { address, port };
}

/** --iface: an interface's IPv4 address (multicast membership is by address; a name like eth0 failed as EINVAL deep in the start). */
export function parseIpv4(value: string): string {
  if (!net.isIPv4(value)) throw new InvalidArgumentError(`expected the IPv4 address of an interface of this host (not its name), got "${value}"`);
  return value;
}

/** pino's levels, and `silent`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function parseChannelList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Exit code of a command line that did not parse: 2, as for a node config refused at start; 0 for --help. */
export const EXIT_USAGE = 2;

export function usageExitCode(error: CommanderError): number {
  return error.exitCode === 0 ? 0 : EXIT_USAGE;
}

/** An option that also reads CHANMESH_<FLAG> from the environment. */
export function envOption(flags: string, description: string): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1];
  if (!long) throw new Error(`no long flag in ${flags}`);
  return new Option(flags, description).env(`CHANMESH_${long.replace(/-/g, '_').toUpperCase()}`);
}
