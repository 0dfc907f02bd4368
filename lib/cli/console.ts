// The line protocol of `chanmesh node`'s stdin, so people and scripts drive
// a node the same way. One command per line; plain text goes to the last
// joined channel.
import type { ChanmeshNode } from '../node/node.ts';

export const CONSOLE_HELP = `commands:
  /join #x            join (or create) a channel; @x is private
  /say #x text        say text in #x (plain text goes to the last joined channel)
  /exit #x            leave a channel
  /invite #x id...    invite peers (up to 64) to a channel
  /peers              discovered peers: id, nick, address, liveness state
  /channels           channels: name, host, epoch, standbys, members
  /stats              counters since start: PDUs, peers lost, takeovers, failovers, connections, bad input
  /quit               leave every channel and stop`;

export interface ConsoleOutput {
  line(text: string): void;
}

export class NodeConsole {
  private lastJoined?: string;

  constructor(
    private readonly node: ChanmeshNode,
    private readonly out: ConsoleOutput,
    private readonly quit: () => void,
  ) {}

  /** Interpret one input line. */
  handle(input: string): void {
    const line = input.replace(/\r$/, '');
    if (line.trim() === '') return;
    if (!line.startsWith('/')) {
      if (!this.lastJoined) return this.out.line('* join a channel first: /join #lobby');
      return this.node.say(this.lastJoined, line);
    }
    const [command = '', ...args] = line.slice(1).split(' ');
    switch (command) {
      case 'join':
        for (const channel of args.filter(Boolean)) {
          this.node.join(channel);
          if (this.node.joinedChannels().includes(channel)) this.lastJoined = channel;
        }
        return;
      case 'say': {
        const [channel, ...words] = args;
        if (!channel) return this.out.line('* usage: /say #x text');
        return this.node.say(channel, words.join(' '));
      }
      case 'exit':
      case 'part':
        for (const channel of args.filter(Boolean)) this.node.exit(channel);
        if (this.lastJoined && args.includes(this.lastJoined)) this.lastJoined = this.node.joinedChannels().find((c) => !args.includes(c));
        return;
      case 'invite': {
        const [channel, ...ids] = args.filter(Boolean);
        if (!channel) return this.out.line('* usage: /invite #x id...');
        return this.node.invite(channel, ids);
      }
      case 'peers':
        return this.peers();
      case 'channels':
        return this.channels();
      case 'stats':
        return this.out.line(`* stats ${Object.entries(this.node.statistics()).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      case 'quit':
        return this.quit();
      case 'help':
        return this.out.line(CONSOLE_HELP);
      default:
        return this.out.line(`* unknown command /${command}; /help lists them`);
    }
  }

  private peers(): void {
    const peers = this.node.peers();
    if (peers.length === 0) return this.out.line('* no peers discovered');
    for (const p of peers) this.out.line(`* peer ${p.peerId} nick=${p.nick} address=${p.address}:${p.port} state=${p.state}`);
  }

  private channels(): void {
    const channels = this.node.channels();
    if (channels.length === 0) return this.out.line('* no channels');
    for (const c of channels) {
      const flags = [c.hostedHere ? 'hosted-here' : '', c.joined ? `joined(${c.memberState})` : ''].filter(Boolean).join(',');
      this.out.line(
        `* channel ${c.name} host=${c.hostId} epoch=${c.epoch} standbys=${c.standbys.join(',') || '-'} members=${c.members.join(',') || '-'}${flags ? ` ${flags}` : ''}`,
      );
    }
  }
}
