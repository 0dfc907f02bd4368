// The one HTTP endpoint chanmesh serves: GET /metrics, for a Prometheus
// scraper (`chanmesh node --metrics`). Off unless asked for, and on loopback
// unless an address is given: it is an operator's port, not the cluster's.
//
// Whoever reaches the port is a stranger like any other (docs/protocol.md 6):
// node's HTTP parser bounds the request line and headers, a request that
// is not HTTP or is too slow is answered and closed, connections beyond the
// bound are closed at once, and each such rejection goes to `onRejected`,
// the node's one rejection path (counted, logged, throttled). A request
// body is never read into memory.
import http from 'node:http';
import type net from 'node:net';
import type { Endpoint } from './transport.ts';
import { remoteOf } from './real-network.ts';

export const METRICS_PATH = '/metrics';

/** What one scraper, or a stranger, can hold: a scraper keeps one connection open, a few at most. */
export interface MetricsLimits {
  maxConnections: number;
  maxHeaderBytes: number;
  /** From the connection, the request's headers must have arrived by then: a silent or trickling connection is closed then (408). */
  headersTimeoutMs: number;
  /** The whole request, body included (a body is drained, never kept). */
  requestTimeoutMs: number;
}

export const METRICS_LIMITS: MetricsLimits = {
  maxConnections: 16,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
};

/** The answer to a request that failed before it was one, by node's error code. */
const STATUS_OF: Partial<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

export interface Exposition {
  contentType: string;
  /** The whole exposition text of one scrape. */
  render(): Promise<string>;
}

export interface MetricsEndpoint {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on `listen` (port 0: a free one, which the endpoint tells). */
export function serveMetrics(
  listen: Endpoint,
  exposition: Exposition,
  onRejected: (remote: Endpoint, code: string) => void,
  onError: (error: unknown) => void,
  limits: MetricsLimits = METRICS_LIMITS,
): Promise<MetricsEndpoint> {
  const answered = new WeakSet<net.Socket>();
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Checked this often for connections past those timeouts.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (request, response) => {
      // Drained, not kept: a GET has no body, a stranger's body is no concern.
      request.resume();
      // One request a connection, closed once it is answered. A scraper
      // connects again each scrape; a client that pipelines is
      // disconnected: Node starts a handler for every request already in
      // its buffer, and no timeout runs while answers wait on a client
      // that does not read, so 6,000 requests in one write started 3,855
      // renders (+350 MB), and 16 such clients held every slot for good
      // (until 7 December 2026).
      const socket = request.socket;
      if (answered.has(socket)) {
        // The rest of what it pipelined in the same read still comes here.
        if (!socket.destroyed) onRejected(remoteOf(socket), 'pipelined_request');
        socket.destroy();
        return;
      }
      answered.add(socket);
      response.shouldKeepAlive = false;
      respond(request, response, exposition, onError);
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', (dropped?: { remoteAddress?: string; remotePort?: number }) => onRejected(remoteOf(dropped ?? {}), 'too_many_connections'));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const code = error.code ?? 'ERR_HTTP';
    onRejected(remoteOf(socket), code);
    if (socket.writable && code !== 'ECONNRESET') {
      const status = STATUS_OF[code] ?? '400 Bad Request';
      // Closed whole once the answer is out: the server allows half-open
      // sockets, and a client that never closed its side would keep a slot.
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: listen.port, host: listen.address, exclusive: true }, () => {
      server.removeListener('error', reject);
      const bound = server.address() as net.AddressInfo;
      resolve({
        address: bound.address,
        port: bound.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function respond(request: http.IncomingMessage, response: http.ServerResponse, exposition: Exposition, onError: (error: unknown) => void): void {
  const path = (request.url ?? '').split('?', 1)[0];
  if (path !== METRICS_PATH) return plain(response, 404, `not found: the metrics are at ${METRICS_PATH}\n`);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return plain(response, 405, 'method not allowed: GET or HEAD\n');
  }
  exposition.render().then(
    (body) => {
      response.writeHead(200, { 'Content-Type': exposition.contentType, 'Content-Length': Buffer.byteLength(body) });
      response.end(request.method === 'HEAD' ? undefined : body);
    },
    (error: unknown) => {
      onError(error);
      plain(response, 500, 'the metrics could not be collected\n');
    },
  );
}

function plain(response: http.ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}
