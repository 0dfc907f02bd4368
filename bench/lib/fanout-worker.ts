// A child process running some of the fan-out benchmark's members, for when
// the bench process alone would be the bottleneck (`--workers N`). Driven
// over IPC (advanced serialization, so latencies travel as a typed array):
//   parent -> { type: 'join', config }   child -> { type: 'joined' }
//   parent -> { type: 'run' }            child -> { type: 'result', result }
//   parent -> { type: 'close' }          child exits
// Errors go back as { type: 'error', message }.
import { MemberGroup, type GroupConfig } from './fanout-members.ts';

export type WorkerRequest = { type: 'join'; config: GroupConfig } | { type: 'run' } | { type: 'close' };
export type WorkerReply =
  | { type: 'joined' }
  | { type: 'result'; result: Awaited<ReturnType<MemberGroup['run']>> }
  | { type: 'error'; message: string };

let group: MemberGroup | undefined;
const reply = (m: WorkerReply) => process.send!(m);

process.on('message', (request: WorkerRequest) => {
  void (async () => {
    try {
      switch (request.type) {
        case 'join':
          group = new MemberGroup(request.config);
          await group.join();
          return reply({ type: 'joined' });
        case 'run':
          return reply({ type: 'result', result: await group!.run() });
        case 'close':
          group?.close();
          process.disconnect();
          return;
      }
    } catch (error) {
      reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
