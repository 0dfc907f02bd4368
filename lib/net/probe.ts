// Probes of a service from outside it (`chanmesh health`): a TCP connect,
// and an HTTP GET that only a process whose event loop runs can answer.
import http from 'node:http';
import net from 'node:net';
import type { Endpoint } from './transport.ts';

/** Whether `to` completes a TCP connection within the timeout. */
export function connects(to: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: to.address, port: to.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** GET `path` at `from`: 'ok' (a 200), 'refused' (nothing listens), 'silent' (no answer in time), or what else came back. */
export function scrape(from: Endpoint, path: string, timeoutMs: number): Promise<'ok' | 'refused' | 'silent' | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: from.address, port: from.port, path, timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200 ? 'ok' : `status ${response.statusCode}`);
    });
    request.on('timeout', () => {
      request.destroy();
      resolve('silent');
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)));
  });
}
