// Loopback ports for tests that need one nothing listens on.
import net from 'node:net';

/** A port the kernel just gave out and took back: nothing listens on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
