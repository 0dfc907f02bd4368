// A node's knobs, each with its effect, formula and trade-off (memberlist's
// config.go habit). The CLI flags map onto these one to one.
import type { Endpoint } from '../net/transport.ts';
import { historyWindowMax } from '../../machines/history.ts';
import { LONGEST_PDU_INTERVAL_MS, MAX_ELECTED_STANDBYS, MAX_FRAME_BYTES_DEFAULT, MAX_NICK_BYTES, MAX_PEERS_DEFAULT, MAX_SAY_FRAME_BYTES, SHORTEST_PDU_INTERVAL_MS } from '../wire/limits.ts';
import { isNick, isPeerId, isServerPort } from '../wire/names.ts';

export interface NodeConfig {
  /** Peer id, 1-64 printable ASCII. Unique in the group: a duplicate is logged and ignored. */
  id: string;
  /** CLIENT-NICK, at most 32 bytes. Default: the id, cut to 32 (defaultNick). */
  nick: string;
  /** TCP port for hosted channels, 49152-65535 (a PDU carries no other); 0 picks a free one there. */
  port: number;
  /** Address the TCP server binds to (default all). */
  listenHost?: string;
  /** Multicast group of the PeerPDUs. Default 239.255.77.77:47777. */
  group: Endpoint;
  /** Local IPv4 address used for multicast membership and as this node's address. */
  iface?: string;
  /** Multicast TTL. 1 keeps PDUs on the local segment; raise it only with multicast routing. */
  ttl: number;
  /**
   * PeerPDU interval. Effect: detection time of a silent (frozen, cut off)
   * peer = 4 x livenessTimeoutMs = 4 x this by default (figure 6). Trade-off:
   * shorter detects faster but costs one datagram per interval per node to
   * every node (N^2 receptions per interval).
   */
  pduIntervalMs: number;
  /** X of figure 6. Default = pduIntervalMs. Larger tolerates loss/jitter, detects later. */
  livenessTimeoutMs: number;
  /** Ranked standbys per hosted channel (k). Each standby more survives one more simultaneous failure. */
  standbys: number;
  /**
   * Messages of history per channel: kept by host and members, sent to new
   * members, carried over a takeover. It is also what a member that was cut
   * off or frozen gets back, so what is said while a failover or a
   * split-brain merge runs must fit; those take a number of PDU intervals.
   * Default: 100 at the default interval, in proportion for longer ones
   * (defaultHistoryLimit). Trade-off: memory per channel, and the WELCOME
   * every joiner receives.
   */
  historyLimit: number;
  /** Largest KIT frame body accepted; a larger length prefix closes the connection unread. */
  maxFrameBytes: number;
  /** Unsent bytes a slow member may accumulate before it is disconnected (defaultMaxBufferedBytes). */
  maxBufferedBytes: number;
  /** Peers in the table at most; PDUs of further new peers are dropped. */
  maxPeers: number;
  /**
   * A remote JOIN creates a new channel only while this node hosts fewer
   * channels than this (however it came to host them); past it, it is
   * refused (machines/rules.ts decideUnhostedJoin). Takeovers and this
   * node's own user's channels are not refused. Every hosted channel is in
   * every PDU: 256 of them, at the longest names, fit its 48 datagrams with
   * room for takeovers.
   */
  maxHostedChannels: number;
  /** Shared secret: PDUs carry an HMAC tag, unauthenticated PDUs are dropped. */
  secret?: Buffer;
  /**
   * Fast failover path: after the host's connection breaks, one reconnect
   * attempt bounded by this; refused or timed out -> fail over at once.
   */
  quickReconnectMs: number;
  /** Unsent SAYs a member keeps while it has no host; more are refused. */
  outboxLimit: number;
  /** How long an invite stays in this node's PDU. */
  inviteTtlMs: number;
  /**
   * How long a joiner waits for its WELCOME before it takes the host for a
   * legacy one, and so how long a new hosting waits for its first JOIN
   * before it closes (docs/protocol.md 5.1, 5.4): 10 PDU intervals.
   */
  welcomeTimeoutMs: number;
  /**
   * How long a host gathers relays (and a takeover host what its members
   * re-send) before it takes them, sorted (docs/protocol.md 5.5). Long
   * enough for every member of a failover or a split-brain move to rejoin
   * and relay (they do within tens of ms), short for chat: one PDU interval.
   */
  relayWindowMs: number;
}

export type NodeConfigInput = Partial<NodeConfig> & Pick<NodeConfig, 'id'>;

/**
 * The config a node runs with: defaults filled in, and what its own PeerPDU
 * carries checked against the wire's rules. A node whose nick or port its
 * PDU cannot carry would start, fail to encode its first announcement and
 * never be discovered; it is refused here instead, before anything opens,
 * as is a PDU interval no cluster could run at.
 */
export function resolveConfig(input: NodeConfigInput): NodeConfig {
  const config = withDefaults(input);
  if (!isPeerId(config.id)) throw new NodeConfigError('id', 'must be 1-64 printable ASCII characters without spaces');
  if (!isNick(config.nick)) throw new NodeConfigError('nick', 'must be valid UTF-8 of at most 32 bytes');
  if (!isServerPort(config.port)) throw new NodeConfigError('port', 'must be 0 or 49152-65535 (the dynamic ports, which a PeerPDU carries)');
  if (!isPduInterval(config.pduIntervalMs)) throw new NodeConfigError('pdu-interval', PDU_INTERVAL_RULE);
  if (!Number.isInteger(config.standbys) || config.standbys < 0 || config.standbys > MAX_ELECTED_STANDBYS) {
    throw new NodeConfigError('standbys', `must be 0 to ${MAX_ELECTED_STANDBYS}`);
  }
  return config;
}

export const PDU_INTERVAL_RULE = `must be between ${SHORTEST_PDU_INTERVAL_MS} ms and 1 h`;

/** An interval this node can run at (lib/wire/limits.ts says why these). */
export function isPduInterval(ms: number): boolean {
  return ms >= SHORTEST_PDU_INTERVAL_MS && ms <= LONGEST_PDU_INTERVAL_MS;
}

export class NodeConfigError extends Error {
  constructor(
    /** The option (`chanmesh node --<option>`) whose value it is. */
    readonly option: 'id' | 'nick' | 'port' | 'pdu-interval' | 'standbys',
    rule: string,
  ) {
    super(`${option} ${rule}`);
    this.name = 'NodeConfigError';
  }
}

/** No nick given: the id, cut to CLIENT-NICK's 32 bytes (an id is ASCII, a byte a character), so that a long id still announces. */
export function defaultNick(id: string): string {
  return id.slice(0, MAX_NICK_BYTES);
}

/**
 * The defaults that depend on nothing else, in one place: the CLI shows and
 * uses these, docs/protocol.md and the README quote them.
 */
export const NODE_DEFAULTS = {
  port: 0,
  group: { address: '239.255.77.77', port: 47777 },
  ttl: 1,
  pduIntervalMs: 250,
  standbys: 2,
  maxFrameBytes: MAX_FRAME_BYTES_DEFAULT,
  maxPeers: MAX_PEERS_DEFAULT,
  maxHostedChannels: 256,
  quickReconnectMs: 100,
  outboxLimit: 1000,
} as const satisfies Partial<NodeConfig>;

function withDefaults(input: NodeConfigInput): NodeConfig {
  const pduIntervalMs = input.pduIntervalMs ?? NODE_DEFAULTS.pduIntervalMs;
  const historyLimit = input.historyLimit ?? defaultHistoryLimit(pduIntervalMs);
  return {
    ...NODE_DEFAULTS,
    group: { ...NODE_DEFAULTS.group },
    nick: defaultNick(input.id),
    livenessTimeoutMs: input.livenessTimeoutMs ?? pduIntervalMs,
    historyLimit,
    maxBufferedBytes: defaultMaxBufferedBytes(historyLimit),
    inviteTtlMs: 40 * pduIntervalMs,
    welcomeTimeoutMs: 10 * pduIntervalMs,
    relayWindowMs: pduIntervalMs,
    ...stripUndefined(input),
    pduIntervalMs,
  } as NodeConfig;
}

/**
 * 100 messages at the default 250 ms interval, and 100 more per 250 ms above
 * it. The simulator's campaigns at a 1 s interval (faults four times as long,
 * the same chat rate) lose messages to a history of 100 and pass with 400
 * (docs/simulator.md, "Other PDU intervals").
 */
export function defaultHistoryLimit(pduIntervalMs: number): number {
  return Math.max(100, Math.ceil((100 * pduIntervalMs) / 250));
}

/**
 * What a connection may leave unsent before it is a slow consumer: 8 MiB,
 * or twice the largest WELCOME, whichever is more. A host queues a joiner's
 * WELCOME in one go, its whole history window of SAYs; with a history of
 * long lines above the bound, every joiner was a slow consumer and nobody
 * could join (until 7 December 2026: some 2,000 lines of 4 KiB).
 */
export function defaultMaxBufferedBytes(historyLimit: number): number {
  return Math.max(8 * 1024 * 1024, 2 * historyWindowMax(historyLimit) * MAX_SAY_FRAME_BYTES);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
