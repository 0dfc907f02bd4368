// A raw peer that speaks only docs/protocol.md, with no chanmesh code: to
// check the wire as another implementation would see it.
import { hkdfSync } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';

/**
 * TLS options for channel traffic under a shared secret, from
 * docs/protocol.md section 6 alone: TLS 1.2, ECDHE-PSK-CHACHA20-POLY1305,
 * PSK identity `chanmesh-v1`, key HKDF-SHA256(secret, no salt, info
 * "chanmesh channel traffic v1", 32 bytes).
 */
export function pskClientOptions(secret: string): tls.ConnectionOptions {
  const psk = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'chanmesh channel traffic v1', 32));
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
    pskCallback: () => ({ psk, identity: 'chanmesh-v1' }),
    checkServerIdentity: () => undefined,
  };
}

export function frameBytes(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

export function frame(fields: string[]): Buffer {
  return frameBytes(Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8'));
}

/** Connect, write `bytes`, report whether the server closed the connection. */
export function rawExchange(port: number, bytes: Buffer, waitMs = 1500): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
  });
}

export async function sendGarbageDatagrams(group: string): Promise<void> {
  const garbage = [Buffer.from('not msgpack at all'), Buffer.from([0x81, 0xa7]), Buffer.alloc(1500, 0x41), Buffer.from([0xc1])];
  await sendDatagrams(group, garbage);
}

/** Send each datagram to the multicast group ("address:port") over loopback. */
export async function sendDatagrams(group: string, datagrams: readonly Buffer[]): Promise<void> {
  const [address, port] = group.split(':') as [string, string];
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.setMulticastInterface('127.0.0.1');
  for (const d of datagrams) await new Promise<void>((r) => socket.send(d, Number(port), address, () => r()));
  socket.close();
}

/** A raw TCP client: write frames, read frames (length prefix + NUL fields). */
export class RawClient {
  private buffer = Buffer.alloc(0);
  readonly frames: string[][] = [];
  closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      while (this.buffer.length >= 4) {
        const n = this.buffer.readUInt32BE(0);
        if (this.buffer.length < 4 + n) break;
        const body = this.buffer.subarray(4, 4 + n).toString('utf8');
        this.buffer = this.buffer.subarray(4 + n);
        this.frames.push(body.split('\0').slice(0, -1));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  /** Plain TCP, or TLS-PSK under `secret` (what a node started with --secret speaks). */
  static connect(port: number, host = '127.0.0.1', secret?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ready = () => resolve(new RawClient(socket));
      const socket = secret === undefined ? net.connect({ host, port }, ready) : tls.connect({ host, port, ...pskClientOptions(secret) }, ready);
      socket.once('error', reject);
    });
  }

  send(fields: string[]): void {
    this.socket.write(frame(fields));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async waitFor(predicate: (f: string[]) => boolean, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
