// `chanmesh node --metrics`: real node processes on loopback, scraped over
// HTTP as Prometheus would. The figures are the node's (the same as /stats),
// the gauges follow the cluster (a peer that joins, one that dies), and a
// stranger's bad request on the metrics port is rejected like any other.
import t from 'tap';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { frame, rawExchange } from '../helpers/raw-peer.ts';
import { scrape } from '../helpers/exposition.ts';

/** Scrapes until `ready` holds of a scrape (8 s at most). */
async function scrapeUntil(port: number, what: string, ready: (values: Map<string, number>) => boolean): Promise<Map<string, number>> {
  for (const deadline = Date.now() + 8000; ; ) {
    const values = await scrape(port);
    if (ready(values)) return values;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...values])}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('a node scraped over HTTP: counters as /stats has them, gauges that follow the cluster, strangers rejected', async (t) => {
  const group = uniqueGroup();
  // scraped2 hosts #m; scraped1, the node scraped, joins it as its standby. At
  // 500 ms a silent host takes 2 s to find: time to see a message wait.
  const pduIntervalMs = 500;
  const n2 = new NodeProcess({ id: 'scraped2', group, pduIntervalMs, args: ['--join', '#m'] });
  t.teardown(() => n2.stop());
  await n2.waitEvent('channel.created', (e) => e.channel === '#m');
  const n1 = new NodeProcess({ id: 'scraped1', group, pduIntervalMs, args: ['--metrics', '0', '--join', '#m'] });
  t.teardown(() => n1.stop());
  const listening = await n1.waitEvent('metrics.listening');
  t.match(listening, { address: '127.0.0.1', path: '/metrics' }, 'a port alone: on loopback');
  const port = listening.port as number;
  const channelPort = (await n1.waitEvent('node.started')).port as number;
  await n1.waitEvent('member.joined', (e) => e.channel === '#m' && e.host === 'scraped2');

  let values = await scrapeUntil(port, 'a live peer', (v) => v.get('chanmesh_peers{state="timerAlive"}') === 1);
  t.equal(values.get('chanmesh_channels_hosted'), 0, 'scraped1 hosts nothing yet');
  t.equal(values.get('chanmesh_memberships{state="joined"}'), 1, 'its own user is in #m');
  t.equal(values.get('chanmesh_node_info{peer_id="scraped1"}'), 1);
  t.ok((values.get('process_resident_memory_bytes') ?? 0) > 0, "the process's own metrics beside them");

  // Bad frames on the channel port, and what is not HTTP on the metrics port.
  for (let i = 0; i < 3; i++) await rawExchange(channelPort, frame(['NO-SUCH-COMMAND']), 2000);
  const answer = await rawExchange(port, Buffer.from('JOIN #m intruder\r\n\r\n'), 5000);
  t.match(answer, { closed: true }, 'not HTTP: closed');
  t.match(answer.received.toString(), /^HTTP\/1\.1 400 /, 'with a 400');
  const rejected = await n1.waitEvent('connection.rejected', (e) => e.transport === 'http');
  t.match(rejected, { level: 40, remote: { address: '127.0.0.1' }, code: /^HPE_/ }, 'logged as any rejected connection');
  values = await scrape(port);
  t.equal(values.get('chanmesh_bad_frames_total'), 3);
  t.equal(values.get('chanmesh_connections_rejected_total'), 1);
  const [stats] = await n1.query('/stats', '* stats');
  t.match(stats, /badFrames=3 /, '/stats says the same');
  t.match(stats, /connectionsRejected=1 /);
  t.ok(values.get('chanmesh_rounds_sent_total')! > 0 && values.get('chanmesh_datagrams_received_total')! > 0, 'PeerPDUs both ways');

  // The host freezes with a message of scraped1's unacknowledged: figure 6
  // takes the host out of the table, scraped1 takes #m over, and the
  // message, sent again, is acknowledged by the new host (scraped1 itself).
  n2.signal('SIGSTOP');
  n1.send('/say #m said while the host sleeps');
  values = await scrapeUntil(port, 'the message waiting', (v) => v.get('chanmesh_outbox_messages') === 1);
  t.equal(values.get('chanmesh_channels_hosted'), 0, 'one message in the outbox while the host sleeps');
  await n1.waitEvent('takeover', (e) => e.channel === '#m');
  values = await scrapeUntil(port, 'the takeover and scraped2 counted out', (v) => v.get('chanmesh_channels_hosted') === 1 && v.get('chanmesh_peers_disconnected_total') === 1 && v.get('chanmesh_memberships{state="joined"}') === 1);
  await n1.waitLine('[#m] <scraped1> said while the host sleeps');
  values = await scrapeUntil(port, 'the message acknowledged', (v) => v.get('chanmesh_outbox_messages') === 0);
  t.equal(n1.lines.filter((l) => l === '[#m] <scraped1> said while the host sleeps').length, 1, 'acknowledged by the new host, delivered once');
  // Killed while stopped, so that it never runs again.
  n2.signal('SIGKILL');
  t.equal(values.get('chanmesh_peers{state="timerAlive"}'), 0, 'a dead peer is counted out of the table');
  t.equal(values.get('chanmesh_takeovers_total'), 1, 'one takeover');
  t.equal(values.get('chanmesh_hosted_members'), 1, 'scraped1 alone in #m');
  const failovers = n1.events.filter((e) => e.event === 'failover.finished');
  t.equal(values.get('chanmesh_failovers_finished_total'), failovers.length, `failovers as logged (${failovers.length})`);
  t.equal(values.get('chanmesh_failover_duration_seconds_count'), failovers.length, 'each in the histogram');
  const seconds = failovers.reduce((sum, e) => sum + (e.durationMs as number) / 1000, 0);
  t.ok(Math.abs(values.get('chanmesh_failover_duration_seconds_sum')! - seconds) < 1e-9, `with its duration (${seconds} s)`);
  t.equal(values.get('chanmesh_split_brains_lost_total'), 0);

  // Another node asking for the same metrics port cannot have it.
  const n3 = new NodeProcess({ id: 'scraped3', group, args: ['--metrics', String(port)] });
  t.teardown(() => n3.stop());
  await n3.until('exit', () => n3.exited);
  t.equal(n3.child.exitCode, 1, 'a port taken: exit 1');
  t.match(n3.event('node.start_failed'), { err: { code: 'EADDRINUSE' } });
  t.notOk(n3.event('node.started'), 'before it announced itself: no ghost peer (until December 2026 it had started first)');
  t.notOk(n1.event('peer.discovered', (e) => e.peer === 'scraped3'), 'scraped1 never heard of it');
  t.match(n3.stderrText.join('\n'), /could not start: .*EADDRINUSE.*another process listens there/, 'saying what to check');
  t.equal((await scrape(port)).get('chanmesh_node_info{peer_id="scraped1"}'), 1, 'the port still scraped1\'s');
});
