// What a node counts from its start: the console's /stats, and the counters
// of its metrics (metrics.ts). Each counter is named and explained here once.
export const STATISTICS = {
  roundsSent: 'PeerPDU rounds this node sent (a round is one datagram or more)',
  datagramsReceived: 'PeerPDU datagrams of other peers that decoded, stale ones included',
  datagramsStale: 'Of those, an older round or a part heard already (protocol 6): dropped, refreshing nothing',
  datagramsBad: 'Datagrams that did not decode (too large, not a PeerPDU, a wrong tag): dropped',
  chatDelivered: "Chat lines this node's user was given",
  peersDisconnected: 'Peers figure 6 declared disconnected (each then left the peer table): a dead, frozen or cut-off peer, or one whose PDUs were lost',
  takeovers: 'Channels this node began to host after their host was gone (a `takeover` log line each)',
  failoversFinished: "Failovers of this node's user's channels: joined the next host after the host looked dead (`failover.finished`)",
  splitBrainsLost: 'Split brains this node lost: it handed a channel it hosted to the winner (`splitbrain.resolved`)',
  connectionsAccepted: 'Channel connections accepted (with --secret: after their TLS handshake)',
  connectionsRejected:
    'Connections turned away: channel connections closed before a JOIN (a failed TLS handshake, not a client that hung up before its hello; ' +
    'too many waiting already; no JOIN within 10 s), and metrics connections that were not HTTP, too slow or too many',
  badFrames: 'Channel connections closed for a frame that did not decode',
  slowConsumers: 'Member connections closed because the member did not read',
  warnLinesThrottled: 'Warn lines of a flood sent to debug by the throttle (docs/log-events.md)',
} as const;

export type NodeStatistics = Record<keyof typeof STATISTICS, number>;

/** The channel server's share, which it counts itself. */
export type ServerStats = Pick<NodeStatistics, 'connectionsAccepted' | 'connectionsRejected' | 'badFrames' | 'slowConsumers'>;
