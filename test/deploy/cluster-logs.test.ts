// `chanmesh cluster logs --json`: JSON lines, one object a line, whatever
// the node wrote (until December 2026 each line kept its `node1 | ` label,
// so the output was no JSON at all).
import t from 'tap';
import { jsonLine } from '../../lib/cli/cluster/logs.ts';

t.test('an event keeps its fields and gains its service; chat and text become {service, text}', async (t) => {
  const event = JSON.parse(jsonLine('node1', '{"level":30,"time":5,"node":"n1","event":"member.joined","channel":"#x"}'));
  t.same(event, { service: 'node1', level: 30, time: 5, node: 'n1', event: 'member.joined', channel: '#x' });
  t.same(JSON.parse(jsonLine('node2', '[#x] <n1> hello\r')), { service: 'node2', text: '[#x] <n1> hello' });
  t.same(JSON.parse(jsonLine('node2', '{not json')), { service: 'node2', text: '{not json' });
});
