// `chanmesh health`, the image's HEALTHCHECK: is the node on this host
// serving?
//
// A TCP connect alone cannot tell. The kernel completes a connection to a
// listening socket from its backlog while the process is stopped or its
// event loop is stuck, so a frozen node passed that probe. So where the node
// serves its metrics (--metrics), its answer to GET /metrics, which only a
// running event loop gives, is asked for as well. Where nothing listens on
// the metrics port (connection refused: the node runs without --metrics),
// the connect probe is all there is.
import type { Endpoint } from '../net/transport.ts';
import { METRICS_PATH } from '../net/metrics-http.ts';
import { connects, scrape } from '../net/probe.ts';

export interface Verdict {
  healthy: boolean;
  /** One line for `docker inspect` (Docker keeps a probe's output). */
  reason: string;
}

export const PROBE_TIMEOUT_MS = 2000;

export async function checkHealth(channelPort: Endpoint, metrics: Endpoint, timeoutMs = PROBE_TIMEOUT_MS): Promise<Verdict> {
  const [accepts, answer] = await Promise.all([connects(channelPort, timeoutMs), scrape(local(metrics), METRICS_PATH, timeoutMs)]);
  const at = `${channelPort.address}:${channelPort.port}`;
  if (!accepts) return { healthy: false, reason: `the channel port ${at} does not accept connections` };
  switch (answer) {
    case 'ok':
      return { healthy: true, reason: `the channel port ${at} accepts connections and the node answers ${METRICS_PATH}` };
    case 'refused':
      return { healthy: true, reason: `the channel port ${at} accepts connections (no metrics endpoint: a stopped process would pass too)` };
    case 'silent':
      return { healthy: false, reason: `the node does not answer ${METRICS_PATH} within ${timeoutMs} ms: its process is stopped or stuck` };
    default:
      return { healthy: false, reason: `the metrics endpoint answered ${answer}` };
  }
}

/** The address a local probe connects to for a listener on every interface. */
function local(listen: Endpoint): Endpoint {
  if (listen.address === '0.0.0.0') return { ...listen, address: '127.0.0.1' };
  if (listen.address === '::') return { ...listen, address: '::1' };
  return listen;
}
