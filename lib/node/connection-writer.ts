// Writes frames to one stream connection, the way a fast server must:
// - frames produced in one turn of the event loop go out in one write
//   (flushed on a microtask, so a SAY burst to a member is one syscall);
// - when write() returns false, nothing more is written until 'drain';
// - a consumer that lets more than `maxBufferedBytes` pile up is a slow
//   consumer: it is disconnected instead of buffered forever (aedes does so).
//   Destroyed, not ended: ending would queue behind bytes it does not read,
//   and only the close (the stream's onClose) tells its owner it is gone.
//
// Fan-out costs (bench/fanout.ts, 100 members): write() runs once per frame
// per member, so it does no more than append. The stream's own buffer size
// is read once per flush, not per frame: between our writes it only shrinks,
// so the value read after the last write is an upper bound, and the real
// value is read only when that bound would cross the limit. And the members
// of a channel mostly get the same frames in the same tick: flush() joins
// them once and hands the same Buffer to every such member (sameConcat).
import type { StreamConnection } from '../net/transport.ts';

export class ConnectionWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** connection.bufferedBytes as read after our last write: never below the real value. */
  private streamBytesBound = 0;
  private flushScheduled = false;
  private blocked = false;
  private dead = false;
  private readonly flushTask = () => this.flush();

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
    if (this.pendingBytes + this.streamBytesBound > this.maxBufferedBytes) {
      this.streamBytesBound = this.connection.bufferedBytes;
      const buffered = this.pendingBytes + this.streamBytesBound;
      if (buffered > this.maxBufferedBytes) {
        this.onSlowConsumer(buffered);
        this.destroy();
        return;
      }
    }
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Write what is pending now (also used before end()). */
  flush(): void {
    this.flushScheduled = false;
    if (this.dead || this.blocked || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : sameConcat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.connection.write(chunk)) this.blocked = true;
    this.streamBytesBound = this.connection.bufferedBytes;
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

  /** Ended, destroyed or a slow consumer: nothing more goes out, the connection is closing. */
  get closing(): boolean {
    return this.dead;
  }

  destroy(): void {
    this.dead = true;
    this.pending = [];
    this.connection.destroy();
  }
}

// The last join of frames, kept until the microtasks queued so far have run
// (the flushes of one fan-out): a writer whose pending frames are the same
// Buffers in the same order gets the same chunk instead of a new copy.
// Frames and chunks are never modified once written, so sharing is safe.
let lastParts: readonly Buffer[] | undefined;
let lastChunk: Buffer | undefined;
let forgetScheduled = false;

function forgetLastConcat(): void {
  forgetScheduled = false;
  lastParts = undefined;
  lastChunk = undefined;
}

function sameConcat(parts: readonly Buffer[], bytes: number): Buffer {
  if (lastParts !== undefined && lastChunk !== undefined && lastParts.length === parts.length && lastChunk.length === bytes) {
    let same = true;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] !== lastParts[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastChunk;
  }
  lastParts = parts;
  lastChunk = Buffer.concat(parts as Buffer[], bytes);
  if (!forgetScheduled) {
    forgetScheduled = true;
    queueMicrotask(forgetLastConcat);
  }
  return lastChunk;
}
