// `chanmesh node`: run one peer on the real network, driven line by line
// from stdin (people and scripts alike), chat lines on stdout, logs on stderr.
import type { Command } from 'commander';
import type { Endpoint } from '../net/transport.ts';
import { NODE_DEFAULTS } from '../node/config.ts';
import { MAX_ELECTED_STANDBYS } from '../wire/limits.ts';
import { envOption, LOG_LEVELS, parseChannelList, parseDuration, parseGroup, parseInteger, parseIpv4, parseListen, parsePduInterval, type GroupAddress } from './options.ts';

export interface NodeCommandOptions {
  id?: string;
  nick?: string;
  port: number;
  group: GroupAddress;
  iface?: string;
  ttl: number;
  pduInterval: number;
  join: string[];
  standbys: number;
  history?: number;
  chatter?: number;
  secret?: string;
  maxFrame: number;
  metrics?: Endpoint;
  logLevel: string;
  logFormat?: 'pretty' | 'json';
}

// The defaults are the node's own (NODE_DEFAULTS), shown in --help.
const DEFAULT_GROUP = `${NODE_DEFAULTS.group.address}:${NODE_DEFAULTS.group.port}`;
/** The port the image's CMD serves metrics on (the node's --metrics is off by default), and so where `chanmesh health` asks. */
export const IMAGE_METRICS_PORT = 9464;

export function addNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run a chanmesh peer: discover peers, host and join channels, chat via stdin/stdout')
    .addOption(envOption('--id <id>', 'peer id, 1-64 printable ASCII (default: <hostname>-<random>)'))
    .addOption(envOption('--nick <nick>', 'nickname shown to others, at most 32 bytes (default: the id, cut to 32)'))
    .addOption(envOption('--port <n>', 'TCP port for hosted channels, 49152-65535; 0 = a free one there').default(NODE_DEFAULTS.port).argParser(parseInteger(0, 65535)))
    .addOption(envOption('--group <addr:port>', 'multicast group for PeerPDUs').default({ ...NODE_DEFAULTS.group }, DEFAULT_GROUP).argParser(parseGroup))
    .addOption(envOption('--iface <addr>', 'local IPv4 address of the interface for multicast (multi-homed hosts)').argParser(parseIpv4))
    .addOption(envOption('--ttl <n>', 'multicast TTL (1 = this L2 segment only)').default(NODE_DEFAULTS.ttl).argParser(parseInteger(1, 255)))
    .addOption(envOption('--pdu-interval <ms>', 'PeerPDU interval, 10 ms to 1 h; a silent peer is disconnected after 4 intervals').default(NODE_DEFAULTS.pduIntervalMs).argParser(parsePduInterval))
    .addOption(envOption('--join <channels>', 'channels to join at start, comma separated (#public, @private)').default([]).argParser(parseChannelList))
    .addOption(envOption('--standbys <k>', `ranked standbys per hosted channel (at most ${MAX_ELECTED_STANDBYS}, so a channel entry fits one PDU datagram)`).default(NODE_DEFAULTS.standbys).argParser(parseInteger(0, MAX_ELECTED_STANDBYS)))
    .addOption(envOption('--history <n>', 'messages of history kept per channel and sent to new members (default 100, in proportion for a PDU interval over 250 ms)').argParser(parseInteger(0, 10000)))
    .addOption(envOption('--chatter <interval>', 'demo: say a line in every joined channel every <interval> (e.g. 2s)').argParser(parseDuration))
    .addOption(envOption('--secret <secret>', 'shared secret: PeerPDUs carry an HMAC tag (others are dropped) and channel traffic is TLS-PSK, so only holders can join'))
    .addOption(envOption('--max-frame <bytes>', 'largest KIT frame body accepted').default(NODE_DEFAULTS.maxFrameBytes).argParser(parseInteger(64, 16 * 1024 * 1024)))
    .addOption(envOption('--metrics <[addr:]port>', 'serve Prometheus metrics at http://<addr:port>/metrics (a port alone: on 127.0.0.1; 0.0.0.0:9464 for a scraper elsewhere)').argParser(parseListen))
    .addOption(envOption('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info'))
    .addOption(envOption('--log-format <format>', 'pretty or json (default: pretty on a TTY)').choices(['pretty', 'json']))
    .action(async (options: NodeCommandOptions) => {
      const { runNode } = await import('./run-node.ts');
      await runNode(options);
    });
}
