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

/**
 * A free port for a test that must name its node's port itself
 * (`--port N`). It is drawn below the kernel's ephemeral range (32768 up) and
 * the range test nodes pick their own ports from (49152 up, KIT_PORT_MIN), so
 * no other test's node or connection can take it in between; a port found in
 * use is skipped.
 */
export async function pinnablePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
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
