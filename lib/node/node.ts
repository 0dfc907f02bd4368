// One chanmesh peer: the composition of its machines with a network, a
// clock, a random source and a logger, all injected. The real CLI and the
// simulator build nodes with this same class; only the injected parts differ.
//
//   datagrams -> PeerIntake (news only) -> discovery machine -> peer table, directory
//   TCP in    -> ChannelServer -> channel-host machines (one per hosted channel)
//   TCP out   <- MemberLink    <- channel-member machines (one per joined channel)
import { EventEmitter } from 'node:events';
import { createActor, fromCallback, type Actor, type EventObject } from 'xstate';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Random } from '../random.ts';
import { hungUp, type DatagramGroup, type Endpoint, type Network } from '../net/transport.ts';
import type { ClientCommand } from '../wire/command.ts';
import { DecodeError } from '../wire/errors.ts';
import { JOIN_TIMEOUT_MS, MAX_AWAITING_JOIN, MAX_INCARNATION, MAX_INVITE_IDS, MAX_PDU_CHANNELS } from '../wire/limits.ts';
import { hiddenTag } from '../wire/hidden-tag.ts';
import { isChannelName, isPeerId, isPrivateChannel, isPublicChannel, isSayText } from '../wire/names.ts';
import { announcementKey, type PeerPdu, type PeerPduPart } from '../wire/peer-pdu.ts';
import { discoveryMachine, type DiscoveryEmitted } from '../../machines/discovery.ts';
import { LivenessActors } from './liveness-actors.ts';
import { detectionTimeMs, peerLivenessMachine, type PeerLivenessChange, type SilenceInput } from '../../machines/peer-liveness.ts';
import { channelHostMachine, type ChannelHostEmitted } from '../../machines/channel-host.ts';
import { channelMemberMachine, type ChannelMemberEmitted } from '../../machines/channel-member.ts';
import { msgIdPrefix, type HistoryEntry } from '../../machines/history.ts';
import type { SeenSnapshot } from '../../machines/seen-window.ts';
import { decideUnhostedJoin, hostingWins, ownIdVerdict } from '../../machines/rules.ts';
import { ChannelServer, serverStats, type ServerConnection } from './channel-server.ts';
import type { NodeStatistics } from './statistics.ts';
import { MemberLink } from './channel-client.ts';
import { resolveConfig, type NodeConfig, type NodeConfigInput } from './config.ts';
import { Directory } from './directory.ts';
import { decodeShared } from './pdu-decode-cache.ts';
import { announcer } from './announcer.ts';
import { InvitesOut, InvitesSeen } from './invites.ts';
import { PeerIntake } from './peer-intake.ts';
import { WarnThrottle } from '../warn-throttle.ts';
import { encodeTrimmed } from './pdu-trim.ts';

export interface NodeEnvironment {
  network: Network;
  clock: Clock;
  random: Random;
  log: Logger;
  /** Increases with every start of a process with this id (the real node uses its start time). */
  incarnation: number;
}

/** A chat line as the user sees it: `[#x] <authorId> text`. */
export interface ChatLine {
  channel: string;
  authorId: string;
  text: string;
  msgId: string;
  fromHistory: boolean;
  /**
   * Merged by the host from a member's relay after a failover or split
   * brain: it may come after a newer message of its author that the host
   * accepted before the merge (docs/protocol.md 5.5).
   */
  relayed: boolean;
  /** Brought by a LATE frame: accepted before, out of the host's history, offered again by a member that held it (docs/protocol.md 5.5); `relayed` as well. */
  late?: true;
  /**
   * The hosting whose stream brought it. Not necessarily the member's host
   * by the time the line is shown: a MOVED in the same chunk of the stream
   * sends the member on at once.
   */
  host: string;
  epoch: number;
}

export interface PeerSummary {
  peerId: string;
  nick: string;
  address: string;
  port: number;
  state: string;
  incarnation: number;
}

export interface ChannelSummary {
  name: string;
  hostId: string;
  epoch: number;
  standbys: readonly string[];
  members: readonly string[];
  joined: boolean;
  hostedHere: boolean;
  memberState?: string;
}

type HostActor = Actor<typeof channelHostMachine>;
type MemberActor = Actor<typeof channelMemberMachine>;

interface Membership {
  actor: MemberActor;
  link: MemberLink;
  failoverStartedAt?: number;
}

export interface NodeEvents {
  chat: [ChatLine];
  /** Something the user should read (invites, errors of their commands). */
  notice: [string];
  /** An exception escaped a machine: a bug. The simulator counts these. */
  fault: [Error];
  /** A failover of one of this node's user's channels finished (`failover.finished`): from its host looking dead to joined at the next. */
  failover: [{ channel: string; durationMs: number }];
  /** Another process runs with this node's id, and this node gave way: it has stopped (ownIdVerdict). */
  idInUse: [{ address: string; incarnation: number }];
}

export class ChanmeshNode extends EventEmitter<NodeEvents> {
  readonly config: NodeConfig;
  private readonly log: Logger;
  private readonly discovery;
  /** One figure-6 actor per peer of the discovery machine's table. */
  private readonly liveness: LivenessActors;
  private readonly hosts = new Map<string, HostActor>();
  private readonly memberships = new Map<string, Membership>();
  private readonly directory = new Directory();
  private readonly intake: PeerIntake;
  /** The node's one throttle for the warn lines a stranger can cause at will: bad datagrams, peer.rejected, and the channel server's and the network's rejections and bad frames. */
  private readonly warnings: WarnThrottle;
  /** Round number of our PeerPDUs. */
  private pduSeq = 0;
  /** Revision of what our PeerPDUs announce, and what that was. */
  private announcement = { rev: 0, key: '' };
  private readonly invitesOut: InvitesOut;
  private readonly invitesSeen = new InvitesSeen();
  /** Connects waiting for a peer discovery has not reported yet, by peer id. */
  private readonly awaitingPeer = new Map<string, Array<() => void>>();
  private server?: ChannelServer;
  private group?: DatagramGroup;
  private startedAt = 0;
  /** Our incarnation: the environment's, until we announce over another process with our id (ownIdVerdict). */
  private incarnation: number;
  /** Another process's incarnation with our id, and how many of its rounds we heard. */
  private ownIdHeard: { incarnation: number; seq: number; rounds: number } | undefined;
  /** When we last announced over another process with our id. */
  private outbidAt = Number.NEGATIVE_INFINITY;
  /** Joins made by this process: part of every membership's msgId prefix. */
  private joinCount = 0;
  private stopped = false;
  /** Counters since start (the console's /stats, with the channel server's). */
  private readonly stats = {
    roundsSent: 0,
    datagramsReceived: 0,
    datagramsStale: 0,
    datagramsBad: 0,
    chatDelivered: 0,
    peersDisconnected: 0,
    takeovers: 0,
    failoversFinished: 0,
    splitBrainsLost: 0,
  };

  constructor(config: NodeConfigInput, private readonly env: NodeEnvironment) {
    super();
    this.config = resolveConfig(config);
    this.incarnation = env.incarnation;
    this.log = env.log;
    this.warnings = new WarnThrottle(env.log, env.clock);
    this.invitesOut = new InvitesOut(this.config.inviteTtlMs);
    const intake = (this.intake = new PeerIntake(env.clock, this.config.maxPeers));
    const silence = fromCallback<EventObject, SilenceInput>(({ input, sendBack }) =>
      intake.watchSilence(input.peerId, input.timeoutMs, () => sendBack({ type: 'SILENT' }), () => sendBack({ type: 'PDU' })),
    );
    this.liveness = new LivenessActors(
      peerLivenessMachine.provide({
        actors: { silence },
        actions: { report: (_, change: PeerLivenessChange) => this.onSuspicion(change) },
      }),
      env.clock,
      (disconnected) => this.discovery.send(disconnected),
      (error) => this.fault('liveness', error),
    );
    const services = { announcer: announcer(env.clock, env.random, () => this.announce()) };
    this.discovery = createActor(discoveryMachine.provide({ actors: services }), {
      clock: env.clock,
      input: {
        peerId: this.config.id,
        pduIntervalMs: this.config.pduIntervalMs,
        livenessTimeoutMs: this.config.livenessTimeoutMs,
        maxPeers: this.config.maxPeers,
      },
    });
  }

  get id(): string {
    return this.config.id;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Listen, join the multicast group and start announcing. */
  async start(): Promise<void> {
    const { network } = this.env;
    const listener = await network.listen(this.config.port, this.config.listenHost);
    this.server = new ChannelServer(
      listener,
      { maxFrameBytes: this.config.maxFrameBytes, maxBufferedBytes: this.config.maxBufferedBytes, joinTimeoutMs: JOIN_TIMEOUT_MS, maxAwaitingJoin: MAX_AWAITING_JOIN },
      {
        join: (connection, command) => this.onJoin(connection, command.channel, command.peerId),
        command: (connection, command) => this.onHostCommand(connection, command),
        closed: (connection) =>
          this.hosts.get(connection.channel!)?.send({ type: 'CONNECTION_CLOSED', connId: connection.id, loads: this.directory.loads }),
      },
      this.log,
      this.env.clock,
      this.warnings,
    );
    this.group = await network.joinGroup({ group: this.config.group, iface: this.config.iface, ttl: this.config.ttl, loopback: true });
    this.group.onDatagram((datagram, from) => this.onDatagram(datagram, from));
    this.startedAt = this.env.clock.now();
    this.discovery.on('*', (effect) => this.guarded('discovery', () => this.onDiscovery(effect as DiscoveryEmitted)));
    this.watch(this.discovery, 'discovery');
    this.discovery.start();
    this.log.info({
      event: 'node.started',
      incarnation: this.incarnation,
      port: this.port,
      group: `${this.config.group.address}:${this.config.group.port}`,
      iface: this.config.iface,
    });
  }

  /** Graceful stop: leave channels, close connections, stop announcing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const m of this.memberships.values()) m.actor.send({ type: 'USER_EXIT' });
    for (const h of this.hosts.values()) h.send({ type: 'STOP' });
    this.discovery.stop();
    this.liveness.stopAll();
    for (const m of this.memberships.values()) m.actor.stop();
    this.server?.stop();
    this.group?.close();
    this.warnings.stop();
    this.log.info({ event: 'node.stopped' });
  }

  // ------------------------------------------------------------ user API

  join(channel: string): void {
    if (!isChannelName(channel)) return this.notice(`not a channel name: ${channel} (#public or @private, at most 64 bytes)`);
    if (this.memberships.has(channel)) return this.notice(`already in ${channel}`);
    // Our PDU lists the public ones by host, at most 256 to a host (3.2):
    // a 257th behind one host made it fail to encode, and the node went
    // mute (until 7 December 2026).
    if (this.memberships.size >= MAX_PDU_CHANNELS) return this.notice(`in ${MAX_PDU_CHANNELS} channels already: /exit one first`);
    const settleMs = 3 * this.config.pduIntervalMs;
    const link = new MemberLink({
      channel,
      network: this.env.network,
      maxFrameBytes: this.config.maxFrameBytes,
      maxBufferedBytes: this.config.maxBufferedBytes,
      log: this.log,
      deliver: (event) => actor.send(event),
    });
    const actor = createActor(channelMemberMachine, {
      clock: this.env.clock,
      input: {
        channel,
        selfId: this.id,
        // msgIds are unique per author (protocol 2.2): the member machine
        // numbers from 1 in every membership, so the prefix names the
        // membership too, or a rejoin would reuse the first membership's ids
        // and hosts would drop its messages as re-sent duplicates.
        msgIdPrefix: msgIdPrefix(this.incarnation, ++this.joinCount),
        historyLimit: this.config.historyLimit,
        // Right after start, give discovery time to hear who hosts what.
        lookupMs: Math.max(this.config.pduIntervalMs, this.startedAt + settleMs - this.env.clock.now()),
        quickReconnectMs: this.config.quickReconnectMs,
        welcomeTimeoutMs: this.config.welcomeTimeoutMs,
        retryMs: 4 * this.config.pduIntervalMs,
        outboxLimit: this.config.outboxLimit,
        down: [],
      },
    });
    const membership: Membership = { actor, link };
    this.memberships.set(channel, membership);
    actor.on('*', (effect) => this.guarded(`member ${channel}`, () => this.onMember(channel, membership, effect as ChannelMemberEmitted)));
    this.watch(actor, `member ${channel}`);
    actor.subscribe({ complete: () => this.memberships.get(channel) === membership && this.memberships.delete(channel) });
    actor.start();
    const known = this.hostingOf(channel);
    if (known) actor.send({ type: 'HOST_FOUND', hostId: known.hostId, epoch: known.epoch });
  }

  say(channel: string, text: string): void {
    const m = this.memberships.get(channel);
    if (!m) return this.notice(`not in ${channel}: /join ${channel} first`);
    if (!isSayText(text)) return this.notice('message too long (at most 4096 bytes of UTF-8)');
    m.actor.send({ type: 'USER_SAY', text });
  }

  exit(channel: string): void {
    const m = this.memberships.get(channel);
    if (!m) return this.notice(`not in ${channel}`);
    m.actor.send({ type: 'USER_EXIT' });
  }

  invite(channel: string, peerIds: string[]): void {
    const m = this.memberships.get(channel);
    if (!m) return this.notice(`not in ${channel}`);
    const bad = peerIds.filter((id) => !isPeerId(id));
    if (peerIds.length === 0 || bad.length > 0) return this.notice(`bad peer ids: ${bad.join(' ') || '(none given)'}`);
    // One INVITE names at most 64 (2.3); more failed to encode in the
    // member's send and ended the process (until 7 December 2026).
    if (peerIds.length > MAX_INVITE_IDS) return this.notice(`at most ${MAX_INVITE_IDS} peers an invite (${peerIds.length} given)`);
    m.actor.send({ type: 'USER_INVITE', peerIds });
  }

  joinedChannels(): string[] {
    return [...this.memberships.keys()];
  }

  /**
   * The network turned an incoming connection away before the channel
   * server saw it (with --secret: a failed TLS handshake, or too many in
   * progress), or the metrics endpoint did (a request that was not one).
   * Counted and logged as the server's own rejections are (the server
   * exists by then: it is made as soon as the listener is), except a
   * client that hung up first, which is no news.
   */
  connectionRejected(transport: string, remote: Endpoint, code: string): void {
    if (hungUp(code)) return this.log.debug({ event: 'connection.rejected', transport, remote, code });
    this.server?.rejected(transport, remote, code);
  }

  /** What this node has counted since it started: traffic, and bad input it dropped. */
  statistics(): NodeStatistics {
    return { ...this.stats, ...(this.server?.stats ?? serverStats()), warnLinesThrottled: this.warnings.throttled };
  }

  peers(): PeerSummary[] {
    return [...this.discovery.getSnapshot().context.peers.values()].map((p) => ({
      peerId: p.peerId,
      nick: p.nick,
      address: p.address,
      port: p.port,
      state: this.liveness.stateOf(p.peerId) ?? 'disconnected',
      incarnation: p.incarnation,
    }));
  }

  channels(): ChannelSummary[] {
    const names = new Set<string>([...this.directory.channels()].map(([name]) => name));
    for (const name of this.hosts.keys()) names.add(name);
    for (const name of this.memberships.keys()) names.add(name);
    const out: ChannelSummary[] = [];
    for (const name of [...names].sort()) {
      const member = this.memberships.get(name)?.actor.getSnapshot();
      const hosted = this.hosts.get(name)?.getSnapshot();
      const announced = this.directory.winner(this.directoryKey(name));
      out.push({
        name,
        hostId: hosted ? this.id : (member?.context.hostId ?? announced?.hostId ?? '?'),
        epoch: hosted?.context.epoch ?? member?.context.epoch ?? announced?.epoch ?? 0,
        standbys: hosted?.context.standbys ?? member?.context.standbys ?? announced?.standbys ?? [],
        members: hosted ? hosted.context.members.map((m) => m.peerId) : (member?.context.members ?? announced?.members ?? []),
        joined: member !== undefined,
        hostedHere: hosted !== undefined,
        memberState: member ? String(member.value) : undefined,
      });
    }
    return out;
  }

  /** Hosted channels with their machine state: for tests and the simulator's checkers. */
  hostedChannels(): Array<{ name: string; epoch: number; members: string[]; standbys: readonly string[]; history: readonly HistoryEntry[] }> {
    return [...this.hosts.entries()].map(([name, h]) => {
      const c = h.getSnapshot().context;
      return { name, epoch: c.epoch, members: c.members.map((m) => m.peerId), standbys: c.standbys, history: c.history };
    });
  }

  /** Member-side state of one joined channel. */
  membership(channel: string) {
    const snapshot = this.memberships.get(channel)?.actor.getSnapshot();
    if (!snapshot) return undefined;
    const c = snapshot.context;
    return { state: String(snapshot.value), hostId: c.hostId, epoch: c.epoch, outbox: c.outbox.length, standbys: c.standbys, members: c.members };
  }

  // ------------------------------------------------------------ discovery

  private onDatagram(datagram: Buffer, from: Endpoint): void {
    if (this.stopped) return;
    try {
      const part = decodeShared(datagram, this.config.secret);
      if (part.peerId === this.id) return this.onOwnId(part, from);
      this.stats.datagramsReceived++;
      const intake = this.intake.admit(part, from);
      if (intake.stale) return this.staleDatagram(part, from);
      if (intake.peerNews) this.discovery.send({ type: 'PDU_RECEIVED', part, from });
      if (intake.announcement !== undefined) this.onAnnouncement(intake.announcement);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.dropPdu(from, error.code, error.message);
    }
  }

  /** A datagram with our id: our own looped back, or another process's (ownIdVerdict). */
  private onOwnId(part: PeerPduPart, from: Endpoint): void {
    if (part.incarnation === this.incarnation) return;
    // Rounds of that incarnation heard: another seq is another round (a
    // round's parts and copies share one).
    const last = this.ownIdHeard;
    let heard = { incarnation: part.incarnation, seq: part.seq, rounds: 1 };
    if (last?.incarnation === part.incarnation) heard = part.seq === last.seq ? last : { ...heard, rounds: last.rounds + 1 };
    this.ownIdHeard = heard;
    const now = this.env.clock.now();
    const verdict = ownIdVerdict({
      incarnation: this.incarnation,
      heard,
      sinceStartMs: now - this.startedAt,
      sinceOutbidMs: now - this.outbidAt,
      detectionMs: detectionTimeMs(this.config.livenessTimeoutMs),
    });
    if (verdict === 'stop') {
      this.log.error({ event: 'node.id_in_use', address: from.address, incarnation: part.incarnation });
      this.stop();
      this.emit('idInUse', { address: from.address, incarnation: part.incarnation });
    } else if (verdict === 'announce over it') {
      const previous = this.incarnation;
      this.outbidAt = now;
      this.incarnation = Math.min(part.incarnation + 1, MAX_INCARNATION);
      this.log.warn({ event: 'node.id_conflict', address: from.address, theirs: part.incarnation, previousIncarnation: previous, incarnation: this.incarnation });
      this.discovery.send({ type: 'ANNOUNCE' });
    } else if (verdict === 'ignore') {
      this.warnings.warn({ event: 'peer.rejected', reason: 'id conflict' }, { peer: part.peerId, address: from.address, incarnation: part.incarnation });
    }
  }

  /**
   * Late, duplicated or replayed (docs/protocol.md 6): dropped, refreshing
   * nothing. Debug: reordering and duplication on a network make some, and
   * a replaying stranger makes them by the thousand.
   */
  private staleDatagram(part: PeerPduPart, from: Endpoint): void {
    this.stats.datagramsStale++;
    // Asked first, so a replaying stranger's thousands cost no object each when debug is off.
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'pdu.stale', peer: part.peerId, incarnation: part.incarnation, seq: part.seq, part: part.part, remote: from });
  }

  private dropPdu(from: Endpoint, code: string, detail: string): void {
    this.stats.datagramsBad++;
    this.warnings.warn({ event: 'decode.error', transport: 'udp', code }, { remote: from, detail });
  }

  /**
   * A peer suspected (maybeDisconnected) or heard again (timerAlive): routine.
   * One lost datagram makes a suspicion on its receiver, and at N^2
   * datagrams an interval a lossy network makes thousands (in the simulator
   * four lines in five were these). The state change an operator needs is
   * the disconnection (onDiscovery); these are debug lines.
   */
  private onSuspicion(change: PeerLivenessChange): void {
    this.log.debug({ event: 'peer.state', peer: change.peerId, state: change.state, failTimer: change.failTimer });
  }

  private onDiscovery(effect: DiscoveryEmitted): void {
    switch (effect.type) {
      case 'peerDiscovered': {
        const p = effect.peer;
        this.log.info({ event: 'peer.discovered', peer: p.peerId, nick: p.nick, address: p.address, port: p.port, incarnation: p.incarnation });
        this.forEachMember((m) => m.actor.send({ type: 'PEER_UP', peerId: p.peerId }));
        this.directory.set({ peerId: p.peerId, port: p.port, alive: true });
        this.peerResolved(p.peerId);
        break;
      }
      case 'peerRestarted':
        this.log.info({ event: 'peer.restarted', peer: effect.peer.peerId, incarnation: effect.peer.incarnation, previousIncarnation: effect.previousIncarnation });
        this.directory.set({ peerId: effect.peer.peerId, port: effect.peer.port, alive: true });
        break;
      case 'peerDisconnected': {
        this.stats.peersDisconnected++;
        this.log.warn({ event: 'peer.state', peer: effect.peerId, state: 'disconnected', failTimer: effect.failTimer });
        this.directory.remove(effect.peerId);
        this.forEachMember((m) => m.actor.send({ type: 'PEER_DOWN', peerId: effect.peerId }));
        const loads = this.directory.loads;
        for (const h of this.hosts.values()) h.send({ type: 'PEERS_CHANGED', loads });
        break;
      }
      case 'peerRejected':
        this.warnings.warn({ event: 'peer.rejected', reason: effect.reason }, { peer: effect.peerId, address: effect.address });
        break;
    }
    // Last: the intake forgets a dropped peer, and the peer's liveness actor
    // starts after the node took it in.
    this.intake.follow(effect);
    this.liveness.follow(effect);
  }

  /**
   * A peer announces something new (the intake saw another rev): into the
   * directory, then to the machines it concerns: a rival of a channel we
   * host, a member looking for its channel's host, an invite to us.
   */
  private onAnnouncement(pdu: PeerPdu): void {
    const peerId = pdu.peerId;
    // Only peers the discovery machine has (not rejected, not our own id).
    if (!this.discovery.getSnapshot().context.peers.has(peerId)) return;
    this.directory.set({ peerId, port: pdu.port, alive: true, pdu });
    for (const c of pdu.channels) this.onHostingAnnounced(c.name, peerId, c.epoch);
    if (pdu.hidden.length > 0) {
      // Only the private channels we host or joined can be recognised.
      const tags = new Map<string, string>();
      for (const name of [...this.hosts.keys(), ...this.memberships.keys()]) if (isPrivateChannel(name)) tags.set(this.directoryKey(name), name);
      for (const h of pdu.hidden) {
        const name = tags.get(h.tag);
        if (name !== undefined) this.onHostingAnnounced(name, peerId, h.epoch);
      }
    }
    for (const invite of pdu.invites) {
      if (!invite.peerIds.includes(this.id) || !this.invitesSeen.announced(invite)) continue;
      this.log.info({ event: 'invite.received', channel: invite.channel, host: invite.host, from: peerId });
      // SERVER-INVITE names no inviter: the host announces the INVITE of
      // any member (the notice named the host as the inviter until
      // December 2026).
      this.notice(`you are invited to ${invite.channel} (hosted by ${invite.host}): /join ${invite.channel}`);
    }
  }

  /** `hostId` announces `channel` at `epoch`: news for our host of it and our member of it. */
  private onHostingAnnounced(channel: string, hostId: string, epoch: number): void {
    // The machine's guard decides whether the rival wins (split brain).
    this.hosts.get(channel)?.send({ type: 'RIVAL_HOST', hostId, epoch });
    const member = this.memberships.get(channel);
    if (member) this.tellHost(channel, member);
  }

  /**
   * Where the directory keeps `channel`: a public one by its name, a private
   * one by its blinded tag (docs/protocol.md 3.2 `hidden`, 5.6), which is
   * how its split brains are found although its name is never announced.
   * Computed each time (one short hash, a few times a round), not kept:
   * names come from JOINs off the network too, and a cache would grow
   * with every name anyone tried.
   */
  private directoryKey(channel: string): string {
    return isPrivateChannel(channel) ? hiddenTag(channel, this.config.secret) : channel;
  }

  /** One round: what the directory says, told again to machines that may now act on it; then our PDU. */
  private announce(): void {
    if (!this.group || this.stopped) return;
    this.reconcile();
    for (const datagram of this.encodePdu(this.buildPdu(++this.pduSeq))) this.group.send(datagram);
    this.stats.roundsSent++;
  }

  /**
   * onAnnouncement tells machines what a PDU says when it is news; the
   * intake passes on nothing else. A machine that was in no state to act on
   * it then (a host still opening, a member between hosts) hears it again here,
   * once a round, from the directory: a hosted channel's strongest rival,
   * and where to go for a member that is looking. Joined members and hosts
   * without rivals, the steady state, get no event.
   */
  private reconcile(): void {
    for (const [name, host] of this.hosts) {
      const rival = this.directory.winner(this.directoryKey(name));
      if (rival) host.send({ type: 'RIVAL_HOST', hostId: rival.hostId, epoch: rival.epoch });
    }
    for (const [name, m] of this.memberships) this.tellHost(name, m);
  }

  /**
   * Where `channel` is hosted, for a member that is looking. A joined member
   * is not: MOVED or its broken connection tells it when its host changes.
   */
  private tellHost(channel: string, m: Membership): void {
    if (m.actor.getSnapshot().value === 'joined') return;
    const winner = this.hostingOf(channel);
    if (winner) m.actor.send({ type: 'HOST_FOUND', hostId: winner.hostId, epoch: winner.epoch });
  }

  /** Our PDU as datagrams, trimmed to fit if need be (pdu-trim.ts). */
  private encodePdu(pdu: PeerPdu): Buffer[] {
    const { datagrams, dropped } = encodeTrimmed(pdu, this.config.secret);
    if (dropped !== undefined) this.log.warn({ event: 'pdu.trimmed', dropped });
    return datagrams;
  }

  /** Our PeerPDU: what we host (private channels blinded), what we joined (public only), open invites. */
  private buildPdu(seq: number): PeerPdu {
    const now = this.env.clock.now();
    const channels = [];
    const hidden = [];
    for (const [name, host] of this.hosts) {
      const c = host.getSnapshot().context;
      // A private channel is never named (draft 2.2): its tag and epoch are all that is said.
      if (isPrivateChannel(name)) hidden.push({ tag: this.directoryKey(name), epoch: c.epoch });
      else channels.push({ name, epoch: c.epoch, standbys: [...c.standbys], members: c.members.map((m) => m.peerId) });
    }
    const byHost = new Map<string, string[]>();
    for (const [name, m] of this.memberships) {
      const s = m.actor.getSnapshot();
      if (!isPublicChannel(name) || s.value !== 'joined' || !s.context.hostId) continue;
      const list = byHost.get(s.context.hostId) ?? [];
      list.push(name);
      byHost.set(s.context.hostId, list);
    }
    const announced = {
      nick: this.config.nick,
      port: this.port,
      interval: Math.round(this.config.pduIntervalMs),
      channels,
      memberships: [...byHost].map(([host, names]) => ({ host, channels: names })),
      invites: this.invitesOut.current(now),
      hidden,
    };
    const key = announcementKey(announced);
    if (key !== this.announcement.key) this.announcement = { rev: this.announcement.rev + 1, key };
    return { version: 1, peerId: this.id, incarnation: this.incarnation, seq, rev: this.announcement.rev, ...announced };
  }

  /** Who hosts `channel`: ourselves, the directory's winner, or an invite's host. */
  private hostingOf(channel: string): { hostId: string; epoch: number } | undefined {
    const own = this.hosts.get(channel);
    const announced = this.directory.winner(this.directoryKey(channel));
    if (own) {
      const mine = { hostId: this.id, epoch: own.getSnapshot().context.epoch };
      if (!announced || hostingWins(mine, announced)) return mine;
    }
    if (announced) return announced;
    // An invite names a host only while that host is alive: a remembered
    // invite of a host gone (or of a stranger who never hosted anything)
    // sent every /join of the name there for good (until 7 December 2026).
    const invitedBy = this.invitesSeen.hostOf(channel);
    return invitedBy === undefined || this.directory.loads.get(invitedBy)?.alive !== true ? undefined : { hostId: invitedBy, epoch: 0 };
  }

  // ------------------------------------------------------------ hosting

  private onJoin(connection: ServerConnection, channel: string, claimedId?: string): void {
    const peerId = claimedId ?? this.identify(connection.remote);
    connection.channel = channel;
    connection.peerId = peerId;
    connection.legacy = claimedId === undefined;
    if (!this.hosts.has(channel)) {
      const member = this.memberships.get(channel)?.actor.getSnapshot();
      const decision = decideUnhostedJoin({
        selfId: this.id,
        member:
          member && member.status === 'active'
            ? { hostId: member.context.hostId, epoch: member.context.epoch, leaving: member.value === 'leaving' }
            : undefined,
        announced: this.directory.winner(this.directoryKey(channel)),
        canCreate: this.hosts.size < this.config.maxHostedChannels,
      });
      if (decision.action === 'promote') {
        this.memberships.get(channel)!.actor.send({ type: 'PROMOTE', own: peerId === this.id });
      } else if (decision.action === 'refuse') {
        this.server!.close(connection.id, decision.reason);
        return;
      } else if (decision.action === 'redirect') {
        this.server!.send([connection.id], [{ type: 'MOVED', hostId: decision.hostId, epoch: decision.epoch }]);
        this.server!.close(connection.id, 'channel hosted elsewhere');
        return;
      } else {
        this.startHosting(channel, decision.epoch, [], undefined);
      }
    }
    const host = this.hosts.get(channel);
    if (!host) {
      // Every JOIN is answered: WELCOME, MOVED, or a closed connection, on
      // which the joiner tries its next candidate. Should a decision above
      // leave no host to take it (decideUnhostedJoin refuses for a member
      // that is leaving), a JOIN dropped here would leave the joiner
      // waiting for a WELCOME, then taking us for a legacy host (F13).
      this.server!.close(connection.id, 'cannot host the channel now');
      return;
    }
    host.send({ type: 'JOIN', connId: connection.id, peerId, loads: this.directory.loads, legacy: connection.legacy });
  }

  private onHostCommand(connection: ServerConnection, command: ClientCommand): void {
    const host = this.hosts.get(connection.channel!);
    if (!host) return this.server!.close(connection.id, 'channel not hosted here');
    const connId = connection.id;
    switch (command.type) {
      case 'JOIN':
        return host.send({ type: 'JOIN', connId, peerId: connection.peerId!, loads: this.directory.loads, legacy: connection.legacy });
      case 'SAY':
        return host.send({ type: 'SAY', connId, text: command.text, msgId: command.msgId });
      case 'RELAY':
        return host.send({ type: 'RELAY', connId, authorId: command.authorId, text: command.text, msgId: command.msgId, seq: command.seq });
      case 'EXIT':
        return host.send({ type: 'EXIT', connId, loads: this.directory.loads });
      case 'INVITE':
        return host.send({ type: 'INVITE', connId, peerIds: command.peerIds });
    }
  }

  /**
   * A legacy client sends no id: it is named after its connection's address
   * and port. Not after the discovered peer at its address, as the draft's
   * server guesses by source IP: a discovered peer is a chanmesh node, which
   * always JOINs with its id, so the guess only ever named a plain client
   * after a node on its machine (every node, on loopback) and its JOIN
   * replaced that node's membership (until December 2026).
   */
  private identify(remote: Endpoint): string {
    return `${remote.address}:${remote.port}`;
  }

  private startHosting(channel: string, epoch: number, history: readonly HistoryEntry[], previousHost: string | undefined, seen?: SeenSnapshot): void {
    if (this.hosts.has(channel) || this.stopped) return;
    const actor = createActor(channelHostMachine, {
      clock: this.env.clock,
      input: {
        channel,
        hostId: this.id,
        epoch,
        standbyCount: this.config.standbys,
        historyLimit: this.config.historyLimit,
        history,
        seenAsMember: seen,
        loads: this.directory.loads,
        relayWindowMs: this.config.relayWindowMs,
        takeover: previousHost !== undefined,
        // As long as a joiner waits for its WELCOME.
        openingTimeoutMs: this.config.welcomeTimeoutMs,
      },
    });
    this.hosts.set(channel, actor);
    actor.on('*', (effect) => this.guarded(`host ${channel}`, () => this.onHost(channel, actor, effect as ChannelHostEmitted)));
    this.watch(actor, `host ${channel}`);
    actor.start();
    if (previousHost !== undefined) {
      this.stats.takeovers++;
      this.log.warn({ event: 'takeover', channel, epoch, previousHost, history: history.length });
    } else {
      this.log.info({ event: 'channel.created', channel, epoch });
    }
    this.discovery.send({ type: 'ANNOUNCE' });
  }

  private onHost(channel: string, actor: HostActor, effect: ChannelHostEmitted): void {
    const server = this.server!;
    switch (effect.type) {
      case 'send':
        return server.send(effect.to, effect.commands);
      case 'close':
        return server.close(effect.connId, effect.reason);
      case 'announce':
        this.discovery.send({ type: 'ANNOUNCE' });
        return;
      case 'memberJoined':
        this.log.info({ event: 'channel.member_joined', channel, member: effect.peerId, members: effect.members });
        return;
      case 'memberLeft':
        this.log.info({ event: 'channel.member_left', channel, member: effect.peerId, members: effect.members, reason: effect.reason });
        return;
      case 'standbysChanged':
        this.log.info({ event: 'standby.chosen', channel, epoch: actor.getSnapshot().context.epoch, standbys: effect.standbys });
        return;
      case 'invited': {
        this.invitesOut.sent({ channel, host: this.id, peerIds: [...effect.peerIds] }, this.env.clock.now());
        this.log.info({ event: 'invite.sent', channel, by: effect.by, peerIds: effect.peerIds });
        return;
      }
      case 'closed': {
        const epoch = actor.getSnapshot().context.epoch;
        if (this.hosts.get(channel) === actor) this.hosts.delete(channel);
        if (effect.reason === 'yielded') {
          this.stats.splitBrainsLost++;
          this.log.info({ event: 'splitbrain.resolved', channel, winner: effect.winner, winnerEpoch: effect.winnerEpoch, loser: this.id, loserEpoch: epoch });
        }
        this.log.info({ event: 'channel.closed', channel, epoch, reason: effect.reason });
        this.discovery.send({ type: 'ANNOUNCE' });
        return;
      }
    }
  }

  // ------------------------------------------------------------ membership

  private onMember(channel: string, m: Membership, effect: ChannelMemberEmitted): void {
    switch (effect.type) {
      case 'connect':
        return this.connectMember(m, effect.gen, effect.hostId, effect.timeoutMs);
      case 'disconnect':
        return m.link.disconnect(effect.gen);
      case 'send':
        return m.link.send(effect.gen, effect.commands);
      case 'deliver':
        this.stats.chatDelivered++;
        this.emit('chat', { channel, authorId: effect.authorId, text: effect.text, msgId: effect.msgId, fromHistory: effect.fromHistory, relayed: effect.relayed, ...(effect.late ? { late: true as const } : {}), host: effect.hostId, epoch: effect.epoch });
        return;
      case 'requestHost':
        return this.startHosting(channel, effect.epoch, effect.history, effect.previousHost, effect.seen);
      case 'joined': {
        const durationMs = m.failoverStartedAt === undefined ? undefined : Math.round(this.env.clock.now() - m.failoverStartedAt);
        if (durationMs !== undefined) {
          m.failoverStartedAt = undefined;
          this.stats.failoversFinished++;
          this.log.info({ event: 'failover.finished', channel, host: effect.hostId, epoch: effect.epoch, durationMs, relayed: effect.relayed, resent: effect.resent });
          this.emit('failover', { channel, durationMs });
        } else {
          this.log.info({ event: 'member.joined', channel, host: effect.hostId, epoch: effect.epoch, history: effect.history });
        }
        return;
      }
      case 'hostSuspected':
        m.failoverStartedAt ??= this.env.clock.now();
        this.log.warn({ event: 'host.suspected', channel, host: effect.hostId, via: effect.via });
        return;
      case 'failoverStarted':
        m.failoverStartedAt ??= this.env.clock.now();
        this.log.warn({ event: 'failover.started', channel, host: effect.hostId, epoch: effect.epoch, candidates: effect.candidates });
        return;
      case 'moved':
        this.log.info({ event: 'member.moved', channel, from: effect.from, host: effect.hostId, epoch: effect.epoch });
        return;
      case 'orphaned':
        this.log.warn({ event: 'failover.orphaned', channel, tried: effect.tried });
        return;
      case 'outboxFull':
        return this.notice(`${channel}: no host and ${this.config.outboxLimit} messages waiting; not sent: ${effect.text}`);
      case 'left':
        this.log.info({ event: 'member.left', channel });
        return;
      case 'membershipChanged':
        this.discovery.send({ type: 'ANNOUNCE' });
        return;
    }
  }

  /**
   * Connect a member's link to `hostId`. A host this node has not heard of
   * yet is waited for, up to the detection time (4 x the liveness timeout):
   * a split brain's loser names its winner in MOVED as soon as it hears the
   * winner's PDU, and that TCP frame can overtake the multicast copy of the
   * same PDU to this node (or follow a partition during which this node
   * removed the winner). Failing at once would make the member fail over to
   * the loser's standbys and start yet another epoch.
   */
  private connectMember(m: Membership, gen: number, hostId: string, timeoutMs: number): void {
    const endpoint = this.endpointOf(hostId);
    if (endpoint || hostId === this.id || this.discovery.getSnapshot().context.peers.has(hostId)) {
      return m.link.connect(gen, endpoint, timeoutMs);
    }
    let done = false;
    const current = () => !done && !this.stopped && this.memberships.get(m.actor.getSnapshot().context.settings.channel) === m && m.actor.getSnapshot().context.gen === gen;
    const attempt = () => {
      if (!current()) return;
      done = true;
      m.link.connect(gen, this.endpointOf(hostId), timeoutMs);
    };
    const waiting = this.awaitingPeer.get(hostId) ?? [];
    waiting.push(attempt);
    this.awaitingPeer.set(hostId, waiting);
    this.env.clock.setTimeout(() => {
      attempt();
      const list = this.awaitingPeer.get(hostId);
      if (list) {
        const rest = list.filter((f) => f !== attempt);
        if (rest.length > 0) this.awaitingPeer.set(hostId, rest);
        else this.awaitingPeer.delete(hostId);
      }
    }, detectionTimeMs(this.config.livenessTimeoutMs));
  }

  private peerResolved(peerId: string): void {
    const waiting = this.awaitingPeer.get(peerId);
    if (!waiting) return;
    this.awaitingPeer.delete(peerId);
    for (const attempt of waiting) attempt();
  }

  private endpointOf(peerId: string): Endpoint | undefined {
    if (peerId === this.id) return { address: this.config.iface ?? '127.0.0.1', port: this.port };
    const p = this.discovery.getSnapshot().context.peers.get(peerId);
    if (!p || p.port === 0) return undefined;
    return { address: p.address, port: p.port };
  }

  // ------------------------------------------------------------ helpers

  private forEachMember(f: (m: Membership) => void): void {
    for (const m of this.memberships.values()) f(m);
  }

  private notice(text: string): void {
    this.emit('notice', text);
  }

  /** An exception inside a machine is a bug: log it loudly and report it. */
  private watch(actor: { subscribe(o: { error: (e: unknown) => void }): unknown }, what: string): void {
    actor.subscribe({ error: (error: unknown) => this.fault(what, error) });
  }

  /**
   * Carry out a machine's effect; an exception in it is a fault of that
   * actor, not of the process. XState rethrows an emit handler's exception
   * from a timer, where nothing catches it: a frame of one channel that
   * failed to encode (a MEMBERS of 513, a SAY at seq 2^53) ended the
   * process and every channel with it (until 7 December 2026).
   */
  private guarded(what: string, effect: () => void): void {
    try {
      effect();
    } catch (error) {
      this.fault(what, error);
    }
  }

  /** An actor failed: a bug, logged and reported (the simulator's crash invariant counts these). */
  private fault(what: string, error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.log.error({ event: 'node.fault', actor: what, err: e });
    this.emit('fault', e);
  }
}
