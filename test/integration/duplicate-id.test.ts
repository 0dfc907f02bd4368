// One id, one process (docs/protocol.md 4): a second process started with an
// id in use gives way with exit 2, and the node that was there first keeps
// its peers and its channel. Until December 2026 the second process ran on:
// its peers took it for a restart of the first, dropped the first's PDUs as
// an older incarnation's, and when it quit, declared the healthy first node
// disconnected and failed its channel over.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';

const PDU_MS = 200;

t.test('a second process with an id in use exits 2; the first keeps its peers and its channel', async (t) => {
  const group = uniqueGroup();
  const a = new NodeProcess({ id: 'a', group, args: ['--join', '#x'], pduIntervalMs: PDU_MS });
  const b = new NodeProcess({ id: 'b', group, pduIntervalMs: PDU_MS });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  await a.waitEvent('member.joined', (e) => e.channel === '#x');
  await b.waitEvent('peer.discovered', (e) => e.peer === 'a');
  b.send('/join #x');
  await b.waitEvent('member.joined', (e) => e.channel === '#x' && e.host === 'a');

  const duplicate = new NodeProcess({ id: 'a', group, args: ['--join', '#x'], pduIntervalMs: PDU_MS });
  t.teardown(() => duplicate.stop());
  await duplicate.until('exit', () => duplicate.exited, 10_000);
  t.equal(duplicate.exitCode, 2, 'exit 2');
  t.match(duplicate.stderrText.join('\n'), /--id a is in use by the node at 127\.0\.0\.1/, 'saying why');
  t.ok(duplicate.event('node.id_in_use'), 'and logging it');
  t.notOk(duplicate.event('channel.created'), 'it hosted nothing meanwhile');

  const outbid = await a.waitEvent('node.id_conflict');
  t.ok(Number(outbid.incarnation) > Number(outbid.theirs), 'the first announces over the newcomer, at a higher incarnation');
  // Longer than a detection time (4 intervals) after the newcomer left.
  await sleep(8 * PDU_MS);
  t.notOk(b.event('peer.state', (e) => e.peer === 'a' && e.state === 'disconnected'), 'b never takes a for dead');
  t.notOk(b.event('host.suspected'), "nor suspects #x's host");
  b.send('/say #x still with a');
  await a.waitLine('[#x] <b> still with a');
  t.notOk(a.exited, 'a runs on');
});
