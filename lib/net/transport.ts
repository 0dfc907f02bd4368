// The small transport interfaces every node is written against. `lib/net`
// implements them with real sockets (dgram-as-promised, node:net); `sim/`
// implements them with a simulated network. Node code never knows which.
//
// The split follows memberlist's transport.go: best-effort packets for
// discovery, reliable ordered streams for channel traffic.

export interface Endpoint {
  address: string;
  port: number;
}

/** The code of a connection closed by its client before its TLS hello, without an error. */
export const CLOSED_BEFORE_HELLO = 'closed_before_hello';

/**
 * Whether a rejected connection's code says its client hung up first (a
 * health probe does, before its TLS hello or its request): no news, so not
 * counted and logged at debug only (ChanmeshNode.connectionRejected).
 */
export function hungUp(code: string): boolean {
  return code === 'ECONNRESET' || code === CLOSED_BEFORE_HELLO;
}

/** A multicast group: best-effort datagrams to and from every member. */
export interface DatagramGroup {
  /** Send one datagram to the group. Loss is silent, as with UDP. */
  send(datagram: Buffer): void;
  /** Called for every datagram received, own ones included (the node filters). */
  onDatagram(handler: (datagram: Buffer, from: Endpoint) => void): void;
  close(): void;
}

/** One reliable, ordered byte stream (a TCP connection). */
export interface StreamConnection {
  readonly remote: Endpoint;
  /** Queue bytes; false means the send buffer is full: wait for onDrain. */
  write(chunk: Buffer): boolean;
  /** Bytes queued but not yet handed to the network. */
  readonly bufferedBytes: number;
  onData(handler: (chunk: Buffer) => void): void;
  onDrain(handler: () => void): void;
  /** Called once, whether the peer closed, the stream broke or we destroyed it. */
  onClose(handler: (reason: string) => void): void;
  /** Flush what is queued, then close. */
  end(): void;
  /** Close at once, dropping what is queued. */
  destroy(): void;
}

export interface StreamListener {
  readonly port: number;
  onConnection(handler: (connection: StreamConnection) => void): void;
  close(): void;
}

export interface GroupOptions {
  group: Endpoint;
  /** Local interface address used for membership and sending (IPv4). */
  iface?: string;
  ttl?: number;
  loopback?: boolean;
}

/** Everything a node needs from the network. */
export interface Network {
  joinGroup(options: GroupOptions): Promise<DatagramGroup>;
  /** Listen on `port`; 0 picks a free port in the KIT range 49152-65535. */
  listen(port: number, host?: string): Promise<StreamListener>;
  /** Connect; rejects with an Error whose `code` is e.g. ECONNREFUSED or ETIMEDOUT. */
  connect(to: Endpoint, timeoutMs: number): Promise<StreamConnection>;
}

/** The KIT draft's port range for channel servers. */
export const KIT_PORT_MIN = 49152;
export const KIT_PORT_MAX = 65535;
