// `chanmesh sim --report`: the timeline rebuilt from the event log (who
// hosted the channel when, the faults, the protocol's reactions) and the
// self-contained HTML page that draws it.
import t from 'tap';
import { renderReport } from '../../sim/report.ts';
import { formatVt } from '../../sim/violations.ts';
import { eventsOf, scenario } from './helpers.ts';

t.test('partition and heal: the timeline has both hostings of the split brain, the cut, and the reactions', async (t) => {
  const result = await scenario('partition-heal');
  const timeline = result.timeline;
  const [cut] = timeline.faults;
  t.equal(timeline.faults.length, 1, 'one fault');
  t.equal(cut?.kind, 'partition');
  t.same([cut?.from, cut?.to], [8_000, 16_000], 'from the cut to the heal (virtual ms)');
  t.equal(cut?.nodes.length, 2, 'labelled by its smaller side: the host and one member');

  const created = eventsOf(result, 'channel.created', (r) => r.channel === '#c0');
  const takeovers = eventsOf(result, 'takeover', (r) => r.channel === '#c0');
  t.equal(created.length, 1);
  t.equal(takeovers.length, 1, 'the majority side took over');
  const hostings = timeline.hostings.filter((h) => h.channel === '#c0');
  t.same(
    hostings.map((h) => [h.host, h.epoch, h.began]),
    [
      [created[0]!.node, 1, 'created'],
      [takeovers[0]!.node, 2, 'takeover'],
    ],
    'the creator at epoch 1, the taker-over at epoch 2',
  );
  const [first, second] = hostings;
  t.ok(first!.from < second!.from && second!.from < first!.to, 'they overlap: the split brain');
  t.ok(first!.to > cut!.to, 'the minority host yields only after the heal');
  t.equal(second!.to, timeline.endMs, 'the winner hosts to the end');
  t.equal(second!.ended, 'end of run');

  const kinds = (kind: string) => timeline.marks.filter((m) => m.kind === kind && m.channel === '#c0');
  t.equal(kinds('takeover').length, 1);
  const failovers = eventsOf(result, 'failover.finished', (r) => r.channel === '#c0');
  t.ok(failovers.length > 0, `${failovers.length} member failovers`);
  t.same(kinds('failover').map((m) => [m.vt, m.node]), failovers.map((r) => [r.vt, r.node]), 'one mark for each');
  t.equal(kinds('splitbrain').length, 1, 'one split brain resolved');
});

t.test('the HTML report: self-contained, with the verdict, the replay command and every hosting drawn', async (t) => {
  const result = await scenario('partition-heal');
  const replay = 'chanmesh sim --faults partition-heal --seed 1';
  const html = renderReport(result, replay);
  t.match(html, /^<!doctype html>/);
  t.match(html, /<span class="verdict">PASS<\/span>/);
  t.ok(html.includes(`<code>${replay}</code>`), 'the replay command');
  t.ok(html.includes(result.hash), 'the event log hash');
  // Nothing to fetch: no scripts, stylesheets, images or links; the only URL is the SVG namespace.
  const outside = html.replace(' xmlns="http://www.w3.org/2000/svg"', '');
  t.notMatch(outside, /<script|<link|<img|\ssrc=|\shref=|url\(|https?:/i, 'no external asset');
  t.equal(html.split('<svg').length - 1, 1, 'one inline SVG');
  for (const h of result.timeline.hostings) {
    t.ok(
      html.includes(`${h.channel} hosted by ${h.host} at epoch ${h.epoch}: ${formatVt(h.from)} (${h.began}) - ${formatVt(h.to)} (${h.ended})`),
      `drawn: ${h.host} at epoch ${h.epoch}`,
    );
  }
  const cut = result.timeline.faults[0]!;
  t.ok(html.includes(`cut off ${cut.nodes.join(',')}: ${formatVt(cut.from)} - ${formatVt(cut.to)}`), 'the partition, on its lane');
  t.match(html, /class="splitbrain"><title>[^<]*split brain of #c0/, 'the split brain mark');
  t.match(html, /class="takeover"><title>takeover by /, 'the takeover mark');
});

t.test('a crash: its span on the crashed lane and a line across the channels', async (t) => {
  const result = await scenario('host-crash');
  const crash = eventsOf(result, 'sim.crash')[0]!;
  const html = renderReport(result, 'replay');
  t.ok(html.includes(`${String(crash.target)} down: ${formatVt(crash.vt)} - ${formatVt(result.timeline.endMs)}`), 'down from the crash to the end (no restart)');
  t.ok(html.includes(`${formatVt(crash.vt)} crash of ${String(crash.target)}`), 'the crash line');
  const ended = result.timeline.hostings.find((h) => h.host === crash.target);
  t.equal(ended?.ended, 'crash', "the crashed host's hosting ends with the crash");
  t.equal(ended?.to, crash.vt);
});
