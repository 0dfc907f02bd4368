// The failover figures: episodes timed against the fault that caused them;
// a lost host (crash, freeze, cut) in the headline figures, a loss burst on
// its own (it does not say when the host was lost).
import t from 'tap';
import { MetricsRecorder } from '../../sim/metrics.ts';
import { Timeline, type FaultSpan } from '../../sim/timeline.ts';

function timelineOf(faults: FaultSpan[]): Timeline {
  const timeline = new Timeline();
  timeline.faults.push(...faults);
  return timeline;
}

const record = (vt: number, node: string, event: string, host = 'h1') => ({ vt, level: 30, node, event, channel: '#c', host });

t.test('a frozen host times the headline figures, a loss burst its own line, a MOVED without cause neither', async (t) => {
  const m = new MetricsRecorder(250);
  // Host h1 frozen at 10 s: m1 suspects it 1 s later and has a new host at 1.5 s.
  m.onRecord(record(11_000, 'm1', 'host.suspected'));
  m.onRecord(record(11_200, 'm1', 'failover.started'));
  m.onRecord(record(11_500, 'm1', 'failover.finished'));
  // A loss burst from 100 s to 104 s: m2 loses its host h2 3.5 s into it.
  m.onRecord(record(103_500, 'm2', 'host.suspected', 'h2'));
  m.onRecord(record(104_000, 'm2', 'failover.finished', 'h2'));
  // Long after any fault: not timed.
  m.onRecord(record(500_000, 'm3', 'failover.started', 'h3'));
  const metrics = m.finish(
    timelineOf([
      { kind: 'freeze', from: 10_000, to: 20_000, nodes: ['h1'] },
      { kind: 'loss', from: 100_000, to: 104_000, nodes: [], rate: 0.5 },
    ]),
  );
  t.equal(metrics.episodes, 3);
  t.equal(metrics.episodesWithoutCause, 1);
  t.same(metrics.detectionMs, { count: 1, p50: 1000, p99: 1000, max: 1000 });
  t.same(metrics.failoverMs, { count: 1, p50: 1500, p99: 1500, max: 1500 });
  t.same(metrics.lossBurst.detectionMs, { count: 1, p50: 3500, p99: 3500, max: 3500 });
  t.same(metrics.lossBurst.failoverMs, { count: 1, p50: 4000, p99: 4000, max: 4000 });
});

t.test('a cut explains only episodes across it; a fault explains for 40 PDU intervals after its end, no longer', async (t) => {
  const m = new MetricsRecorder(250);
  m.onRecord(record(31_000, 'm1', 'host.suspected')); // across the cut h1 | m1
  m.onRecord(record(31_000, 'm2', 'host.suspected')); // on h1's side of it: h1's freeze ended 25 s earlier
  m.onRecord(record(15_000, 'm3', 'host.suspected')); // 9 s after that freeze: its aftermath
  const metrics = m.finish(
    timelineOf([
      { kind: 'freeze', from: 5_000, to: 6_000, nodes: ['h1'] },
      { kind: 'partition', from: 30_000, to: 40_000, nodes: ['m1'], groups: [['h1', 'm2'], ['m1']] },
    ]),
  );
  t.equal(metrics.episodesWithoutCause, 1, 'm2: the freeze is long over and the cut does not separate it from h1');
  t.same(metrics.detectionMs, { count: 2, p50: 1000, p99: 10_000, max: 10_000 }, 'm1 by the cut (1 s), m3 by the freeze (10 s)');
});
