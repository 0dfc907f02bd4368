// `chanmesh node`: a real node on the real network, stdin commands in, chat
// lines out (`[#x] <authorId> text`), pino logs on stderr.
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { RealClock } from '../clock.ts';
import { createLogger } from '../log.ts';
import { RealNetwork } from '../net/real-network.ts';
import type { MetricsEndpoint } from '../net/metrics-http.ts';
import type { Endpoint } from '../net/transport.ts';
import { channelKey } from '../net/tls-psk.ts';
import { systemRandom } from '../random.ts';
import { NodeConfigError, resolveConfig, type NodeConfig, type NodeConfigInput } from '../node/config.ts';
import { ChanmeshNode } from '../node/node.ts';
import { NodeConsole } from './console.ts';
import type { NodeCommandOptions } from './node-command.ts';

export async function runNode(options: NodeCommandOptions): Promise<void> {
  const config = configOrExit({
    id: options.id ?? `${os.hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 40)}-${Math.random().toString(36).slice(2, 8)}`,
    nick: options.nick,
    port: options.port,
    group: options.group,
    iface: options.iface,
    ttl: options.ttl,
    pduIntervalMs: options.pduInterval,
    standbys: options.standbys,
    historyLimit: options.history,
    maxFrameBytes: options.maxFrame,
    secret: options.secret === undefined ? undefined : Buffer.from(options.secret, 'utf8'),
  });
  const { id, secret } = config;
  const log = createLogger({
    level: options.logLevel,
    pretty: options.logFormat === undefined ? undefined : options.logFormat === 'pretty',
    base: { node: id },
  });
  const clock = new RealClock();
  // With a secret, channel traffic is TLS-PSK (docs/protocol.md 6). Its
  // rejections go to the node, which counts and throttles them (`node` is
  // set by then: only node.start() opens the listener).
  const network = new RealNetwork(systemRandom, {
    channelKey: secret === undefined ? undefined : channelKey(secret),
    onRejected: (remote, code) => node.connectionRejected('tls', remote, code),
  });
  const node = new ChanmeshNode(
    config,
    // The incarnation is the start time: it grows with every restart of
    // this id on this host, which is all the protocol compares.
    { network, clock, random: systemRandom, log, incarnation: Date.now() },
  );

  const out = { line: (text: string) => void process.stdout.write(`${text}\n`) };
  node.on('chat', (c) => out.line(`[${c.channel}] <${c.authorId}> ${c.text}`));
  node.on('notice', (text) => out.line(`* ${text}`));

  let metrics: MetricsEndpoint | undefined;
  let stopping = false;
  const stop = (code = 0) => {
    if (stopping) return;
    stopping = true;
    node.stop();
    void metrics?.close();
    // Give EXITs and closes a moment to reach the wire, then leave.
    setTimeout(() => process.exit(code), 150).unref();
  };
  node.on('idInUse', ({ address }) => {
    process.stderr.write(`chanmesh: --id ${id} is in use by the node at ${address}; this one gave way (docs/protocol.md 4): choose another id\n`);
    stop(2);
  });
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));

  try {
    // The metrics endpoint first: a port in use then fails the start before
    // the node has announced itself (peers saw a ghost peer for 4 intervals).
    if (options.metrics !== undefined) metrics = await startMetrics(node, options.metrics, log);
    await node.start();
  } catch (error) {
    log.error({ event: 'node.start_failed', err: error });
    process.stderr.write(`chanmesh: could not start: ${startFailure(error, config)}\n`);
    await metrics?.close();
    process.exit(1);
  }

  const console = new NodeConsole(node, out, () => stop(0));
  for (const channel of options.join) console.handle(`/join ${channel}`);

  if (options.chatter !== undefined) {
    let n = 0;
    const chatter = () => {
      n++;
      for (const channel of node.joinedChannels()) node.say(channel, `chatter ${n} from ${id}`);
      clock.setTimeout(chatter, options.chatter!);
    };
    clock.setTimeout(chatter, options.chatter);
  }

  const rl = readline.createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true });
  if (process.stdin.isTTY) {
    rl.setPrompt(`${id}> `);
    rl.prompt();
  }
  rl.on('line', (line) => {
    console.handle(line);
    if (process.stdin.isTTY) rl.prompt();
  });
  // End of stdin is /quit: a script is done, or the parent that held the
  // pipe is gone. Except for /dev/null (a container started without -i),
  // which ends at once: such a node runs until it is signalled.
  rl.on('close', () => {
    if (!stdinIsNull()) stop(0);
  });
}

/**
 * `--metrics`: the node's figures over HTTP; a stranger's bad request is the
 * node's to count, as any rejected connection. Loaded only when asked for:
 * a node without metrics does not load prom-client.
 */
async function startMetrics(node: ChanmeshNode, listen: Endpoint, log: Logger): Promise<MetricsEndpoint> {
  const [{ nodeMetrics }, { METRICS_PATH, serveMetrics }] = await Promise.all([import('../node/metrics.ts'), import('../net/metrics-http.ts')]);
  const registry = nodeMetrics(node, { processMetrics: true });
  const endpoint = await serveMetrics(
    listen,
    { contentType: registry.contentType, render: () => registry.metrics() },
    (remote, code) => node.connectionRejected('http', remote, code),
    (error) => log.error({ event: 'metrics.failed', err: error }),
  );
  log.info({ event: 'metrics.listening', address: endpoint.address, port: endpoint.port, path: METRICS_PATH });
  return endpoint;
}

/** The node's config, or exit 2 naming the flag whose value its PeerPDU could not carry. */
function configOrExit(input: NodeConfigInput): NodeConfig {
  try {
    return resolveConfig(input);
  } catch (error) {
    if (!(error instanceof NodeConfigError)) throw error;
    process.stderr.write(`chanmesh: --${error.message}\n`);
    process.exit(2);
  }
}

/** What an operator reads when the start failed: the error, and for the usual causes what to check. */
export function startFailure(error: unknown, config: Pick<NodeConfig, 'iface' | 'port'>): string {
  const e = error as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(error);
  if (e.code === 'EADDRINUSE') return `${message} (another process listens there: another --port, or --metrics)`;
  if (config.iface !== undefined && /Membership|MulticastInterface/.test(e.syscall ?? message)) {
    return `${message} (is --iface ${config.iface} an address of this host's interfaces? \`ip -4 addr\` lists them)`;
  }
  if (/Membership/.test(e.syscall ?? message)) return `${message} (no interface for multicast: give --iface <address>; docs/deploy.md)`;
  return message;
}

function stdinIsNull(): boolean {
  try {
    const stat = fs.fstatSync(0);
    return stat.isCharacterDevice() && process.stdin.isTTY !== true;
  } catch {
    return true;
  }
}
