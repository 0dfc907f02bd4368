// The client side of channel traffic: the one TCP connection a member holds
// to its channel's host (draft 2: one connection per channel). It performs
// what the channel-member machine asks (connect, send, disconnect) and feeds
// back what happened, tagged with the machine's connection generation.
import type { Logger } from 'pino';
import type { Endpoint, Network, StreamConnection } from '../net/transport.ts';
import { decodeServerCommand, encodeClientCommand, type ClientCommand, type ServerCommand } from '../wire/command.ts';
import { DecodeError } from '../wire/errors.ts';
import { FrameDecoder } from '../wire/frame.ts';
import type { ChannelMemberEvent } from '../../machines/channel-member.ts';
import { ConnectionWriter } from './connection-writer.ts';

export interface MemberLinkOptions {
  channel: string;
  network: Network;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  log: Logger;
  /** Where the machine's events go. */
  deliver: (event: ChannelMemberEvent) => void;
}

export class MemberLink {
  private gen = 0;
  private stream?: StreamConnection;
  private writer?: ConnectionWriter;

  constructor(private readonly options: MemberLinkOptions) {}

  connect(gen: number, to: Endpoint | undefined, timeoutMs: number): void {
    this.drop();
    this.gen = gen;
    const { deliver } = this.options;
    if (!to) {
      // The host is not (or no longer) in the peer table.
      queueMicrotask(() => deliver({ type: 'CONNECT_FAILED', gen, code: 'EHOSTUNKNOWN' }));
      return;
    }
    this.options.network.connect(to, timeoutMs).then(
      (stream) => {
        if (gen !== this.gen) return stream.destroy(); // the machine moved on
        this.attach(gen, stream);
        deliver({ type: 'CONNECTED', gen });
      },
      (error: NodeJS.ErrnoException) => {
        if (gen === this.gen) deliver({ type: 'CONNECT_FAILED', gen, code: error.code ?? 'ECONNFAILED' });
      },
    );
  }

  send(gen: number, commands: readonly ClientCommand[]): void {
    if (gen !== this.gen || !this.writer) return;
    for (const command of commands) this.writer.write(encodeClientCommand(command));
  }

  disconnect(gen: number): void {
    if (gen === this.gen) this.drop();
  }

  private drop(): void {
    this.writer?.destroy();
    this.writer = undefined;
    this.stream = undefined;
  }

  private attach(gen: number, stream: StreamConnection): void {
    const { deliver, log, channel } = this.options;
    this.stream = stream;
    // A host that does not read what we send is a slow consumer too: the
    // writer destroys the connection, and its close (onClose below) is a
    // broken connection to the machine, which reconnects as after any other.
    this.writer = new ConnectionWriter(stream, this.options.maxBufferedBytes, (bufferedBytes) => {
      log.warn({ event: 'connection.slow_consumer', remote: stream.remote, channel, bufferedBytes });
    });
    const decoder = new FrameDecoder(this.options.maxFrameBytes);
    let failed = false;
    stream.onData((chunk) => {
      if (failed) return;
      // The chunk's frames go to the machine as one event (a WELCOME and its
      // history come in one write); those before a bad frame are kept.
      const commands: ServerCommand[] = [];
      let error: DecodeError | undefined;
      try {
        for (const body of decoder.push(chunk)) commands.push(decodeServerCommand(body));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        error = e;
      }
      if (commands.length > 0) deliver({ type: 'FRAMES', gen, commands });
      if (error !== undefined) {
        failed = true;
        log.warn({ event: 'decode.error', transport: 'tcp', remote: stream.remote, channel, code: error.code, detail: error.message });
        stream.destroy();
      }
    });
    stream.onClose((reason) => {
      if (this.stream === stream) {
        this.stream = undefined;
        this.writer = undefined;
      }
      deliver({ type: 'CLOSED', gen, reason });
    });
  }
}
