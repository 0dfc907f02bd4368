// Writes frames to one stream connection, the way a fast server must:
// - frames produced in one turn of the event loop go out in one write
//   (flushed on a microtask, so a SAY burst to a member is one syscall);
// - when write() returns false, nothing more is written until 'drain';
// - a consumer that lets more than `maxBufferedBytes` pile up is a slow
//   consumer: it is disconnected instead of buffered forever (aedes does so).
import type { StreamConnection } from '../net/transport.ts';

export class ConnectionWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private blocked = false;
  private dead = false;

  constructor(
    private readonly connection: StreamConnection,
    private readonly maxBufferedBytes: number,
    private readonly onSlowConsumer: (bufferedBytes: number) => void,
  ) {
    connection.onDrain(() => {
      this.blocked = false;
      this.flush();
    });
  }

  write(frame: Buffer): void {
    if (this.dead) return;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    const buffered = this.pendingBytes + this.connection.bufferedBytes;
    if (buffered > this.maxBufferedBytes) {
      this.dead = true;
      this.pending = [];
      this.onSlowConsumer(buffered);
      return;
    }
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Write what is pending now (also used before end()). */
  flush(): void {
    this.flushScheduled = false;
    if (this.dead || this.blocked || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.connection.write(chunk)) this.blocked = true;
  }

  /** Flush, then close after the peer got everything. */
  end(): void {
    if (this.dead) return;
    // Even when blocked: end() queues behind what the socket holds anyway.
    this.blocked = false;
    this.flush();
    this.dead = true;
    this.connection.end();
  }

  destroy(): void {
    this.dead = true;
    this.pending = [];
    this.connection.destroy();
  }
}
