// The wire as another implementation sees it: a raw TCP client that speaks
// only docs/protocol.md, and a raw multicast listener decoding PDUs with a
// plain msgpack decoder.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { unpack } from 'msgpackr';
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { CHANMESH_BIN, NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { pinnablePort } from '../helpers/ports.ts';
import { RawClient, rawExchange } from '../helpers/raw-peer.ts';

t.test('a raw client JOINs, SAYs and gets its echo; an oversize frame closes only its own connection', async (t) => {
  const port = await pinnablePort();
  const node = new NodeProcess({ id: 'server1', group: uniqueGroup(), args: ['--port', String(port)] });
  t.teardown(() => node.stop());
  await node.waitEvent('node.started');
  t.equal(node.event('node.started')!.port, port, '--port is the port it listens on');

  const client = await RawClient.connect(port);
  t.teardown(() => client.close());
  client.send(['JOIN', '#t', 'client1']);
  const welcome = await client.waitFor((f) => f[0] === 'WELCOME');
  t.same(welcome, ['WELCOME', '#t', '1', '0'], 'WELCOME channel epoch count');
  client.send(['SAY', 'hello', 'm1']);
  const echo = await client.waitFor((f) => f[0] === 'SAY');
  t.same(echo.slice(0, 4), ['SAY', 'client1', 'hello', 'm1'], 'SAY authorId text msgId');

  // A second raw client in the same channel sees the first one's messages.
  const other = await RawClient.connect(port);
  t.teardown(() => other.close());
  other.send(['JOIN', '#t', 'client2']);
  await other.waitFor((f) => f[0] === 'WELCOME');
  t.ok(other.frames.some((f) => f[0] === 'SAY' && f[1] === 'client1' && f[2] === 'hello'), 'history: the newcomer got the earlier SAY');

  const oversize = await rawExchange(port, Buffer.from([0x00, 0x10, 0x00, 0x01]));
  t.ok(oversize.closed, 'a frame of 1 MiB + 1 is refused from its length prefix');
  client.send(['SAY', 'after the bad client', 'm2']);
  await other.waitFor((f) => f[0] === 'SAY' && f[2] === 'after the bad client');
  t.notOk(client.closed, 'the good connections stay open');

  // A legacy client: JOIN without id, SAY without msgId.
  const legacy = await RawClient.connect(port);
  t.teardown(() => legacy.close());
  legacy.send(['JOIN', '#t']);
  await legacy.waitFor((f) => f[0] === 'WELCOME');
  legacy.send(['SAY', 'legacy words']);
  const legacyEcho = await client.waitFor((f) => f[0] === 'SAY' && f[2] === 'legacy words');
  t.match(legacyEcho[1], /^127\.0\.0\.1:\d+$/, 'a client without id is named by its address');

  // EXIT: the server closes the connection after it.
  other.send(['EXIT']);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(other.closed, 'EXIT ends the connection');
});

t.test('a raw multicast listener decodes the documented PDU fields; private channels appear only blinded', async (t) => {
  const group = uniqueGroup();
  const node = new NodeProcess({ id: 'announcer', group, args: ['--join', '#pub,@secret', '--nick', 'Ann'] });
  t.teardown(() => node.stop());
  const { pdus, raw } = await listenToGroup(t, group);

  await node.waitEvent('channel.created', (e) => e.channel === '#pub');
  await node.waitEvent('channel.created', (e) => e.channel === '@secret');
  await node.waitEvent('member.joined', (e) => e.channel === '#pub');
  await new Promise((r) => setTimeout(r, 800));

  const last = pdus.filter((p) => p.peerId === 'announcer').at(-1)!;
  t.ok(last, 'PDUs received');
  t.equal(last.version, 1);
  t.equal(last.nick, 'Ann');
  t.equal(last.port, node.event('node.started')!.port, 'SERVER-OPTION: the TCP port');
  // A start time in ms is above 2^32: plain msgpackr hands a uint64 back as a BigInt.
  t.ok(['number', 'bigint'].includes(typeof last.incarnation), 'incarnation is an unsigned integer');
  t.type(last.seq, 'number');
  const channels = last.channels as Array<{ name: string; epoch: number; members: string[]; standbys: string[] }>;
  t.same(channels.map((c) => c.name), ['#pub'], 'hosted public channels');
  t.same(channels[0]!.members, ['announcer']);
  t.same(last.memberships, [{ host: 'announcer', channels: ['#pub'] }], 'memberships: public only');
  t.notOk(raw.some((d) => d.includes('@secret')), `the private channel is in none of ${raw.length} datagrams`);
  // Its host announces it blinded (3.2 `hidden`), computed here from the documented parameters alone.
  const tag = createHash('sha256').update('chanmesh hidden channel v1\u0000@secret', 'utf8').digest('hex').slice(0, 32);
  t.same(last.hidden, [{ tag, epoch: 1 }], 'hidden: the tag of @secret and its epoch, nothing else');
});

t.test('a 64-character id and no --nick: the PDU carries the id cut to 32 bytes as the nick, and the node is discovered', async (t) => {
  // Until 7 December 2026 the nick defaulted to the whole id: its first PDU
  // failed to encode (a nick is at most 32 bytes) and the node ran on,
  // never announced. The default id, <hostname>-<random>, got there from a
  // 26-character hostname.
  const group = uniqueGroup();
  const id = `${'long-host-name.example.internal'.padEnd(57, '.x')}-abc123`;
  t.equal(id.length, 64);
  const { pdus } = await listenToGroup(t, group);
  const [node, other] = [new NodeProcess({ id, group }), new NodeProcess({ id: 'other', group })];
  t.teardown(() => Promise.all([node.stop(), other.stop()]));
  await other.waitEvent('peer.discovered', (e) => e.peer === id);
  const pdu = pdus.find((p) => p.peerId === id);
  t.equal(pdu?.nick, id.slice(0, 32), 'the nick is the first 32 bytes of the id');
  t.notOk(node.event('node.fault'), 'no fault');
});

t.test('a --port or --nick that a PeerPDU cannot carry is refused at start (exit 2), naming the flag', async (t) => {
  const start = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CHANMESH_BIN, 'node', '--id', 'refused', '--group', uniqueGroup(), '--iface', '127.0.0.1', ...args], {
      encoding: 'utf8',
      input: '',
      env: { ...process.env, ...env },
      timeout: 10_000,
    });
  const cases: Array<[string, string[], Record<string, string>?]> = [
    ['--port 8080', ['--port', '8080']],
    ['--port 49151', ['--port', '49151']],
    ['CHANMESH_PORT=1024', [], { CHANMESH_PORT: '1024' }],
    ['a 33-byte nick', ['--nick', 'n'.repeat(33)]],
    ['a 17-character nick of 34 bytes', ['--nick', '\u00e9'.repeat(17)]],
  ];
  for (const [what, args, env] of cases) {
    const run = start(args, env);
    t.equal(run.status, 2, `${what}: exit 2`);
    const flag = what.includes('nick') ? '--nick' : '--port';
    t.match(run.stderr, new RegExp(`^chanmesh: ${flag} must be`), `${what}: the message names ${flag}`);
    t.notMatch(run.stderr, /node\.started/, `${what}: nothing started`);
  }
  // The bounds themselves pass: 32 bytes of nick, the first dynamic port.
  const edge = start(['--nick', '\u00e9'.repeat(16), '--port', String(49152)]);
  t.notMatch(edge.stderr, /must be/, '32 bytes of nick and port 49152 are accepted');
});

/** A raw multicast listener on `group`: every datagram, and each decoded with plain msgpack. */
async function listenToGroup(t: Test, group: string): Promise<{ pdus: Array<Record<string, unknown>>; raw: Buffer[] }> {
  const [address, portText] = group.split(':') as [string, string];
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  t.teardown(() => socket.close());
  const pdus: Array<Record<string, unknown>> = [];
  const raw: Buffer[] = [];
  socket.on('message', (msg) => {
    raw.push(msg);
    pdus.push(unpack(msg) as Record<string, unknown>);
  });
  await new Promise<void>((r) => socket.bind(Number(portText), () => r()));
  socket.addMembership(address, '127.0.0.1');
  return { pdus, raw };
}

t.test('a legacy client on the machine of a member node is named by its connection and leaves that node in the channel', async (t) => {
  // Until December 2026 the host named a JOIN without id after the
  // discovered peer at its source address: on loopback every node, so the
  // client's JOIN replaced member m's connection and m failed over.
  const group = uniqueGroup();
  const host = new NodeProcess({ id: 'h', group, args: ['--join', '#l'] });
  const member = new NodeProcess({ id: 'm', group });
  t.teardown(() => Promise.all([host.stop(), member.stop()]));
  await host.waitEvent('member.joined', (e) => e.channel === '#l');
  await member.waitEvent('peer.discovered', (e) => e.peer === 'h');
  await host.waitEvent('peer.discovered', (e) => e.peer === 'm');
  member.send('/join #l');
  await member.waitEvent('member.joined', (e) => e.channel === '#l' && e.host === 'h');
  const port = Number(host.event('node.started')!.port);

  const legacy = await RawClient.connect(port);
  t.teardown(() => legacy.close());
  legacy.send(['JOIN', '#l']);
  await legacy.waitFor((f) => f[0] === 'MEMBERS' && f.some((id) => /^127\.0\.0\.1:\d+$/.test(id)));
  legacy.send(['SAY', 'plain words']);
  await member.waitLine(/<127\.0\.0\.1:\d+> plain words/);
  member.send('/say #l still here');
  await legacy.waitFor((f) => f[0] === 'SAY' && f[2] === 'still here');
  t.notOk(member.event('host.suspected'), 'm kept its connection');
  t.notOk(legacy.closed, 'and so did the client');
  const members = legacy.frames.filter((f) => f[0] === 'MEMBERS').at(-1)!.slice(1);
  t.ok(members.includes('m') && members.includes('h'), `both nodes still members (${members.join(' ')})`);
});
