// A listening port on a simulated host. Accepted connections wait in a
// bounded backlog until the process has an onConnection handler (as the
// kernel's accept queue does); beyond the bound they are reset.

import type { StreamConnection, StreamListener } from '../lib/net/transport.ts';
import type { HostState } from './host-state.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimStream } from './stream.ts';

/** Node's default listen() backlog. */
const BACKLOG_MAX = 511;

export class SimListener implements StreamListener {
  closed = false;
  private readonly handlers: ((connection: StreamConnection) => void)[] = [];
  private backlog: SimStream[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly host: HostState,
    readonly port: number,
  ) {}

  onConnection(handler: (connection: StreamConnection) => void): void {
    this.handlers.push(handler);
    if (this.backlog.length > 0) {
      const waiting = this.backlog;
      this.backlog = [];
      this.scheduler.at(this.scheduler.now(), () => waiting.forEach((stream) => this.accept(stream)), this.host.clock);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.host.listeners.get(this.port) === this) this.host.listeners.delete(this.port);
    for (const stream of this.backlog) stream.destroy();
    this.backlog = [];
  }

  /** @internal Runs in an event of the listening host's process. */
  accept(stream: SimStream): void {
    if (this.closed) {
      stream.destroy(); // the client sees a reset, as when a listening socket closes with a backlog
      return;
    }
    if (this.handlers.length === 0) {
      if (this.backlog.length >= BACKLOG_MAX) stream.destroy();
      else this.backlog.push(stream);
      return;
    }
    for (const handler of this.handlers) handler(stream);
  }
}
