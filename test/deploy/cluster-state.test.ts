// The namespace cluster's state file: written whole, read back checked.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ClusterStateError, parseState, readState, statePath, writeState, type ClusterState } from '../../lib/cli/cluster/state.ts';

const state: ClusterState = {
  version: 1,
  prefix: 'cm-',
  composeFile: '/src/docker-compose.yml',
  bin: '/src/bin/chanmesh.js',
  cwd: '/src',
  hub: 'cm-hub',
  bridge: 'cm-br0',
  subnet: '172.28.77.0/24',
  remapped: false,
  services: [
    { name: 'node1', ns: 'cm-node1', address: '172.28.77.11', hubVeth: 'cm-node1', command: ['node'], env: { CHANMESH_ID: 'node1' }, execEnv: {}, pid: 4242, startedAt: 1 },
  ],
  partition: [['node1'], ['node2', 'node3']],
  createdAt: 1_700_000_000_000,
};

t.test('what up writes, the next command reads back; no file is no cluster', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chanmesh-state-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.equal(readState(dir), undefined, 'no state file: no cluster');
  writeState(dir, state);
  t.same(readState(dir), state);
  t.notOk(fs.existsSync(`${statePath(dir)}.tmp`), 'the temporary file was renamed');
});

t.test('a file that is not a state file is refused with the reason', async (t) => {
  t.throws(() => parseState('{"version": 1,'), ClusterStateError, 'cut short');
  t.throws(() => parseState(JSON.stringify({ ...state, version: 2 })), /version/, 'another version');
  const badService = { ...state, services: [{ ...state.services[0], pid: 'x' }] };
  t.throws(() => parseState(JSON.stringify(badService)), /services\[0\]\.pid/, 'a field of the wrong type, named');
  const { subnet: _subnet, ...noSubnet } = state;
  t.throws(() => parseState(JSON.stringify(noSubnet)), /subnet/, 'a missing field, named');
});
