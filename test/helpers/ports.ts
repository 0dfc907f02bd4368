// Loopback ports for tests that need one nothing listens on.
import fs from 'node:fs';
import net from 'node:net';
import { MAX_SERVER_PORT, MIN_SERVER_PORT } from '../../lib/wire/limits.ts';

/** A port the kernel just gave out and took back: nothing listens on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A free port for a test that must name its node's port itself
 * (`--port N`). A node's port is a dynamic one, 49152-65535 (a PeerPDU
 * carries no other), and test nodes pick their own there; this one is drawn
 * above the kernel's ephemeral range where that leaves room (61000-65535
 * here, /proc/sys/net/ipv4/ip_local_port_range), so that no connection of
 * another test takes it in between. A port found in use is skipped.
 */
export async function pinnablePort(): Promise<number> {
  const low = Math.min(Math.max(MIN_SERVER_PORT, ephemeralTop() + 1), MAX_SERVER_PORT - 500);
  for (;;) {
    const port = low + Math.floor(Math.random() * (MAX_SERVER_PORT + 1 - low));
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ port, exclusive: true }, () => resolve(true)); // every interface, as the node binds
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/** The top of the kernel's ephemeral port range (Linux), or 0 where it cannot be read. */
function ephemeralTop(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[1]) || 0;
  } catch {
    return 0;
  }
}
