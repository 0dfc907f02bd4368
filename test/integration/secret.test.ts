// A cluster with a shared secret (--secret): channel traffic is TLS-PSK
// (docs/protocol.md 6), so only holders of the secret get into a channel.
// The raw clients build their TLS from the documented parameters alone.
import t from 'tap';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { RawClient, rawExchange, frame } from '../helpers/raw-peer.ts';

const PORT = 50021;

t.test('with --secret: nodes chat over TLS-PSK; plain TCP and another secret are turned away, the node serves on', async (t) => {
  const group = uniqueGroup();
  const host = new NodeProcess({ id: 'vault1', group, args: ['--port', String(PORT), '--secret', 'sesame', '--join', '#s'] });
  t.teardown(() => host.stop());
  await host.waitEvent('member.joined', (e) => e.channel === '#s');
  const member = new NodeProcess({ id: 'vault2', group, args: ['--secret', 'sesame', '--join', '#s'] });
  t.teardown(() => member.stop());
  await member.waitEvent('member.joined', (e) => e.channel === '#s' && e.host === 'vault1');
  member.send('/say #s over tls');
  await host.waitLine('[#s] <vault2> over tls');

  // A plain KIT client: its JOIN is not a TLS hello; the connection is closed unanswered.
  const plain = await rawExchange(PORT, frame(['JOIN', '#s', 'intruder']));
  t.ok(plain.closed, 'a plain TCP client is disconnected');
  t.equal(plain.received.length, 0, 'and gets nothing back');
  const rejected = await host.waitEvent('connection.rejected');
  t.equal(rejected.transport, 'tls');

  // A TLS client with another secret fails the handshake.
  await t.rejects(RawClient.connect(PORT, '127.0.0.1', 'not sesame'), 'another secret: no handshake');

  // A raw client that knows the secret and the documented profile is a member like any other.
  const insider = await RawClient.connect(PORT, '127.0.0.1', 'sesame');
  t.teardown(() => insider.close());
  insider.send(['JOIN', '#s', 'raw1']);
  await insider.waitFor((f) => f[0] === 'WELCOME');
  t.ok(insider.frames.some((f) => f[0] === 'SAY' && f[1] === 'vault2' && f[2] === 'over tls'), 'with the history');
  insider.send(['SAY', 'hello from raw', 'r1']);
  await member.waitLine('[#s] <raw1> hello from raw');
  member.send('/say #s still here');
  await insider.waitFor((f) => f[0] === 'SAY' && f[2] === 'still here');

  // A private channel: announced under a tag keyed by the secret (protocol 3.2 `hidden`); the other holder finds it by name.
  host.send('/join @vault');
  await host.waitEvent('member.joined', (e) => e.channel === '@vault' && e.host === 'vault1');
  member.send('/join @vault');
  await member.waitEvent('member.joined', (e) => e.channel === '@vault' && e.host === 'vault1');
  member.send('/say @vault behind the tag');
  await host.waitLine('[@vault] <vault2> behind the tag');
});
