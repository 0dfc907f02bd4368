// The real network: UDP multicast through dgram-as-promised, TCP through
// node:net, or node:tls when the cluster shares a secret (tls-psk.ts). The
// only module (with its siblings here) that touches sockets.
import net from 'node:net';
import tls from 'node:tls';
import DgramAsPromised from 'dgram-as-promised';
import { CLOSED_BEFORE_HELLO, KIT_PORT_MAX, KIT_PORT_MIN, type DatagramGroup, type Endpoint, type GroupOptions, type Network, type StreamConnection, type StreamListener } from './transport.ts';
import { randomInt, type Random } from '../random.ts';
import { clientOptions, HANDSHAKE_TIMEOUT_MS, MAX_AWAITING_HANDSHAKE, serverOptions } from './tls-psk.ts';

export interface RealNetworkOptions {
  /** Channel traffic over TLS-PSK with this key (tls-psk.ts `channelKey`); plain TCP without. */
  channelKey?: Buffer;
  /** An incoming connection failed the TLS handshake (no key, another key, not TLS at all, too slow, hung up: `hungUp`). */
  onRejected?: (remote: Endpoint, code: string) => void;
  /** How long an incoming TLS handshake may take (tls-psk.ts HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  /** Incoming TLS handshakes in progress, at most, per listener (tls-psk.ts MAX_AWAITING_HANDSHAKE). */
  maxAwaitingHandshake?: number;
  /** How long a socket we end() waits for the peer's side (END_GRACE_MS). */
  endGraceMs?: number;
}

export class RealNetwork implements Network {
  constructor(
    private readonly random: Random,
    private readonly options: RealNetworkOptions = {},
  ) {}

  async joinGroup(options: GroupOptions): Promise<DatagramGroup> {
    let handler: (datagram: Buffer, from: Endpoint) => void = () => {};
    const socket = DgramAsPromised.createSocket({ type: 'udp4', reuseAddr: true }, (msg, rinfo) =>
      handler(msg, { address: rinfo.address, port: rinfo.port }),
    );
    // Bound to the group's port on all addresses; membership and sending go
    // through the chosen interface (toolchain.md: this is what works on
    // loopback as well as on a LAN).
    await socket.bind({ port: options.group.port, exclusive: false });
    socket.addMembership(options.group.address, options.iface);
    if (options.iface) socket.setMulticastInterface(options.iface);
    socket.setMulticastTTL(options.ttl ?? 1);
    socket.setMulticastLoopback(options.loopback ?? true);
    const group = options.group;
    return {
      send(datagram) {
        // Best effort, as UDP is: a failed send is a lost datagram.
        socket.send(datagram, group.port, group.address).catch(() => {});
      },
      onDatagram(h) {
        handler = h;
      },
      close() {
        socket.close().catch(() => {});
      },
    };
  }

  async listen(port: number, host?: string): Promise<StreamListener> {
    if (port !== 0) return listenOn(port, host, this.options);
    // Port 0: a free port in the KIT range (draft 2), tried at random.
    for (let attempt = 0; attempt < 64; attempt++) {
      const candidate = randomInt(this.random, KIT_PORT_MIN, KIT_PORT_MAX);
      try {
        return await listenOn(candidate, host, this.options);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
    throw new Error('no free TCP port found in 49152-65535');
  }

  connect(to: Endpoint, timeoutMs: number): Promise<StreamConnection> {
    const key = this.options.channelKey;
    return new Promise((resolve, reject) => {
      const target = { host: to.address, port: to.port, noDelay: true };
      // With TLS the stream is ready once the handshake is done: a host with
      // another secret fails here, within the same timeout.
      const socket = key === undefined ? net.connect(target) : tls.connect({ ...target, ...clientOptions(key) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error(`connect to ${to.address}:${to.port} timed out`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      socket.once(key === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(wrapSocket(socket, to, this.options));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }
}

function listenOn(port: number, host: string | undefined, options: RealNetworkOptions): Promise<StreamListener> {
  return new Promise((resolve, reject) => {
    let handler: (c: StreamConnection) => void = (c) => c.destroy();
    const key = options.channelKey;
    const maxAwaitingHandshake = options.maxAwaitingHandshake ?? MAX_AWAITING_HANDSHAKE;
    let awaitingHandshake = 0;
    const server = net.createServer({ noDelay: true }, (socket) => {
      // The address is read now: once a handshake has failed (a reset, most
      // of all) the socket no longer knows it, and the rejection is logged with it.
      const remote = remoteOf(socket);
      if (key === undefined) return handler(wrapSocket(socket, remote, options));
      if (awaitingHandshake >= maxAwaitingHandshake) {
        options.onRejected?.(remote, 'too_many_awaiting_handshake');
        socket.destroy();
        return;
      }
      awaitingHandshake++;
      secure(socket, remote, key, options, () => awaitingHandshake--, (tlsSocket) => handler(wrapSocket(tlsSocket, remote, options)));
    });
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        onConnection(h) {
          handler = h;
        },
        close() {
          server.close();
        },
      });
    });
  });
}

/**
 * The server side of the TLS-PSK handshake on an accepted socket. The node
 * never sees a connection that fails it (no key, another key, not TLS, too
 * slow): whoever made the network is told, and the socket is closed.
 * `ended` is called once, when the handshake is over, whichever way.
 */
function secure(socket: net.Socket, remote: Endpoint, key: Buffer, options: RealNetworkOptions, ended: () => void, onSecure: (tlsSocket: tls.TLSSocket) => void): void {
  const tlsSocket = new tls.TLSSocket(socket, { isServer: true, ...serverOptions(key) });
  let over = false;
  const end = (): boolean => {
    clearTimeout(timer);
    if (over) return false;
    over = true;
    ended();
    return true;
  };
  const reject = (code: string): void => {
    if (!end()) return; // an error after the timeout's close: told once
    options.onRejected?.(remote, code);
    tlsSocket.destroy();
  };
  const onError = (error: NodeJS.ErrnoException): void => reject(error.code ?? error.message);
  const timer = setTimeout(() => reject('ERR_TLS_HANDSHAKE_TIMEOUT'), options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  tlsSocket.on('error', onError);
  // Closed by the client before its handshake was done, without an error:
  // over, and its slot free now rather than at the timeout.
  const onClose = (): void => reject(CLOSED_BEFORE_HELLO);
  tlsSocket.once('close', onClose);
  tlsSocket.once('secure', () => {
    if (!end()) return;
    tlsSocket.removeListener('error', onError);
    tlsSocket.removeListener('close', onClose);
    onSecure(tlsSocket);
  });
}

/** A socket's peer (or a dropped connection's, as the server's `drop` event names it), as the node logs it: an IPv4 address without its IPv6 mapping. */
export function remoteOf(socket: { remoteAddress?: string; remotePort?: number }): Endpoint {
  return { address: plainAddress(socket.remoteAddress ?? '?'), port: socket.remotePort ?? 0 };
}

/**
 * How long a socket we end() waits for the peer to close its side before it
 * is destroyed. Long enough for the peer to read the last frames (a MOVED,
 * the rest of a fan-out); short enough that strangers who JOIN, EXIT and
 * never close cannot pile up half-open sockets, which no bound counts.
 */
export const END_GRACE_MS = 2_000;

function wrapSocket(socket: net.Socket, remote: Endpoint, options: RealNetworkOptions): StreamConnection {
  const graceMs = options.endGraceMs ?? END_GRACE_MS;
  let closeReason = 'closed';
  let endGrace: NodeJS.Timeout | undefined;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    closeReason = error.code ?? error.message;
  });
  socket.once('close', () => clearTimeout(endGrace));
  const end = (): void => {
    if (endGrace !== undefined || socket.destroyed) return;
    socket.end();
    // A real timer, unref'd: this is the socket's own housekeeping, no
    // machine's time, and it must not keep a stopping process alive.
    endGrace = setTimeout(() => socket.destroy(), graceMs).unref();
  };
  return {
    remote,
    write: (chunk) => socket.write(chunk),
    get bufferedBytes() {
      return socket.writableLength;
    },
    onData: (h) => void socket.on('data', h),
    onDrain: (h) => void socket.on('drain', h),
    onClose: (h) => void socket.once('close', () => h(closeReason)),
    end,
    destroy: () => void socket.destroy(),
  };
}

/** A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; peers are known by a.b.c.d. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
