// The server side of channel traffic (draft 2): one TCP listener for every
// channel this node hosts; each connection carries one channel. Bytes are
// decoded here (bounded frames, typed commands); decisions are the
// channel-host machines'. Bad input closes only its own connection, and so
// does silence: a connection that has not JOINed within joinTimeoutMs.
import type { Logger } from 'pino';
import type { Clock, TimerId } from '../clock.ts';
import type { Endpoint, StreamConnection, StreamListener } from '../net/transport.ts';
import { decodeClientCommand, encodeServerCommand, type ClientCommand, type ServerCommand } from '../wire/command.ts';
import { DecodeError, type DecodeErrorCode } from '../wire/errors.ts';
import { FrameDecoder } from '../wire/frame.ts';
import type { WarnThrottle } from '../warn-throttle.ts';
import { ConnectionWriter } from './connection-writer.ts';
import type { ServerStats } from './statistics.ts';

export interface ServerConnection {
  readonly id: string;
  readonly remote: Endpoint;
  /** Set by the first JOIN: one connection, one channel. */
  channel?: string;
  peerId?: string;
  /** Its JOIN named no peer id: a KIT client of the draft. */
  legacy?: boolean;
}

export interface ChannelServerHandlers {
  /** The connection's first command, a JOIN. */
  join(connection: ServerConnection, command: Extract<ClientCommand, { type: 'JOIN' }>): void;
  /** Any later command of a joined connection. */
  command(connection: ServerConnection, command: ClientCommand): void;
  /** The connection is gone (closed by either side or broken). */
  closed(connection: ServerConnection): void;
}

export interface ChannelServerLimits {
  maxFrameBytes: number;
  /** A member that lets more than this pile up is a slow consumer. */
  maxBufferedBytes: number;
  /** A connection that has sent no JOIN this long after it was accepted is dropped (lib/wire/limits.ts JOIN_TIMEOUT_MS). */
  joinTimeoutMs: number;
  /** Connections not joined yet, at most; a further one is closed at once (lib/wire/limits.ts MAX_AWAITING_JOIN). */
  maxAwaitingJoin: number;
}

interface Entry {
  connection: ServerConnection;
  stream: StreamConnection;
  writer: ConnectionWriter;
  /** Until the JOIN: drops the connection when it fires. */
  joinTimer: TimerId | undefined;
}

/** All zero: a new server's, or the figures of a node not listening yet. */
export function serverStats(): ServerStats {
  return { connectionsAccepted: 0, connectionsRejected: 0, badFrames: 0, slowConsumers: 0 };
}

export class ChannelServer {
  private readonly entries = new Map<string, Entry>();
  private nextId = 1;
  /** Connections whose join timer runs (set in accept, counted down in stopJoinTimer only). */
  private awaitingJoin = 0;
  /** Counters since start (the console's /stats). */
  readonly stats = serverStats();

  constructor(
    private readonly listener: StreamListener,
    private readonly limits: ChannelServerLimits,
    private readonly handlers: ChannelServerHandlers,
    private readonly log: Logger,
    private readonly clock: Clock,
    /** The node's: rejections and bad input are a stranger's to cause, as often as it likes. */
    private readonly warnings: WarnThrottle,
  ) {
    listener.onConnection((stream) => this.accept(stream));
  }

  get port(): number {
    return this.listener.port;
  }

  /** Encode every command once and write the same frames to every connection named. */
  send(connIds: readonly string[], commands: readonly ServerCommand[]): void {
    if (commands.length === 1) {
      // The fan-out of one SAY: one frame, written to every member.
      const frame = encodeServerCommand(commands[0]!);
      for (const id of connIds) this.entries.get(id)?.writer.write(frame);
      return;
    }
    const frames = commands.map(encodeServerCommand);
    for (const id of connIds) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      for (const frame of frames) entry.writer.write(frame);
    }
  }

  /** Close after what was queued is written (EXIT, MOVED, replaced). */
  close(connId: string, reason: string): void {
    const entry = this.entries.get(connId);
    if (!entry) return;
    this.log.debug({ event: 'connection.closing', remote: entry.connection.remote, channel: entry.connection.channel, reason });
    entry.writer.end();
  }

  stop(): void {
    for (const entry of this.entries.values()) entry.writer.destroy();
    this.listener.close();
  }

  /**
   * A connection turned away before its JOIN: by this server, or by the
   * network before it got here (with --secret, a failed TLS handshake), or
   * by the metrics endpoint (ChanmeshNode.connectionRejected).
   */
  rejected(transport: string, remote: Endpoint, code: string): void {
    this.stats.connectionsRejected++;
    this.warnings.warn({ event: 'connection.rejected', transport, code }, { remote });
  }

  private accept(stream: StreamConnection): void {
    if (this.awaitingJoin >= this.limits.maxAwaitingJoin) {
      this.rejected('tcp', stream.remote, 'too_many_awaiting_join');
      stream.destroy();
      return;
    }
    const connection: ServerConnection = { id: `s${this.nextId++}`, remote: stream.remote };
    // The writer destroys a slow consumer's connection: its close (onClose
    // below) takes the member out of its channel like any other close.
    const writer = new ConnectionWriter(stream, this.limits.maxBufferedBytes, (bufferedBytes) => {
      this.stats.slowConsumers++;
      this.log.warn({ event: 'connection.slow_consumer', remote: stream.remote, channel: connection.channel, bufferedBytes });
    });
    const entry: Entry = { connection, stream, writer, joinTimer: undefined };
    this.awaitingJoin++;
    entry.joinTimer = this.clock.setTimeout(() => {
      this.stopJoinTimer(entry);
      this.rejected('tcp', connection.remote, 'join_timeout');
      writer.destroy();
    }, this.limits.joinTimeoutMs);
    this.entries.set(connection.id, entry);
    this.stats.connectionsAccepted++;
    const decoder = new FrameDecoder(this.limits.maxFrameBytes);
    stream.onData((chunk) => {
      // A connection being closed (rejected, EXITed, MOVED, a slow consumer)
      // says nothing more, not even in the rest of the chunk that closed it:
      // a SAY after a protocol violation must not reach the channel.
      if (writer.closing) return;
      try {
        for (const body of decoder.push(chunk)) {
          this.dispatch(entry, decodeClientCommand(body));
          if (writer.closing) return;
        }
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        this.reject(entry, error.code, error.message);
      }
    });
    stream.onClose(() => {
      this.stopJoinTimer(entry);
      this.entries.delete(connection.id);
      if (connection.channel !== undefined) this.handlers.closed(connection);
    });
  }

  private dispatch(entry: Entry, command: ClientCommand): void {
    const { connection } = entry;
    if (connection.channel === undefined) {
      if (command.type !== 'JOIN') return this.reject(entry, 'not_joined', `${command.type} before JOIN`);
      this.stopJoinTimer(entry);
      this.handlers.join(connection, command);
      return;
    }
    if (command.type === 'JOIN' && command.channel !== connection.channel) {
      return this.reject(entry, 'second_channel', 'one connection per channel (draft 2)');
    }
    this.handlers.command(connection, command);
  }

  private stopJoinTimer(entry: Entry): void {
    if (entry.joinTimer === undefined) return;
    this.clock.clearTimeout(entry.joinTimer);
    entry.joinTimer = undefined;
    this.awaitingJoin--;
  }

  private reject(entry: Entry, code: DecodeErrorCode, detail: string): void {
    this.stats.badFrames++;
    this.warnings.warn({ event: 'decode.error', transport: 'tcp', code }, { remote: entry.connection.remote, channel: entry.connection.channel, detail });
    entry.writer.destroy();
  }
}
