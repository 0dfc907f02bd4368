// docker-compose.yml and the Dockerfile, as users and `chanmesh cluster`
// rely on them. There is no Docker engine on the CI machines, so the files
// are checked by parsing; the namespace cluster (netns.test.ts) runs them.
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { planAddresses } from '../../lib/cli/cluster/addresses.ts';
import {
  cidrContains,
  ipToInt,
  isPrivateCidr,
  parseCidr,
  parseComposeYaml,
  parseDockerfile,
  readComposeProject,
} from '../../lib/cli/compose.ts';
import { addNodeCommand, IMAGE_METRICS_PORT } from '../../lib/cli/node-command.ts';
import { formatEvent, LineSplitter, parseNodeLine } from '../../lib/cli/node-output.ts';
import { parseDuration, parseListen } from '../../lib/cli/options.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const composeText = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const dockerfileText = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const compose = parseComposeYaml(composeText);
const dockerfile = parseDockerfile(dockerfileText);
const project = readComposeProject(composeText, dockerfile.cmd);

type Map_ = Record<string, unknown>;
const services = compose.services as Record<string, Map_>;

/** The CHANMESH_* variables `chanmesh node` reads (one per flag). */
function nodeEnvVars(): Set<string> {
  const program = new Command();
  addNodeCommand(program);
  const node = program.commands.find((c) => c.name() === 'node')!;
  return new Set(node.options.map((o) => o.envVar).filter((v): v is string => typeof v === 'string'));
}

t.test('five nodes on one user-defined bridge network, each with a fixed address', async (t) => {
  t.same(Object.keys(services), ['node1', 'node2', 'node3', 'node4', 'node5'], 'services node1..node5');
  t.equal(project.networks.length, 1, 'one network');
  const network = project.networks[0]!;
  t.equal(network.driver, 'bridge', 'a bridge network (multicast works on it)');
  t.ok(network.subnet, 'with a fixed subnet');
  const subnet = parseCidr(network.subnet!);
  t.ok(isPrivateCidr(subnet), `${network.subnet} is a private range`);
  const addresses = new Set<string>();
  for (const svc of project.services) {
    t.equal(svc.network, network.name, `${svc.name} is on ${network.name}`);
    t.ok(svc.ipv4Address && cidrContains(subnet, ipToInt(svc.ipv4Address)), `${svc.name} has an address in the subnet`);
    addresses.add(svc.ipv4Address!);
  }
  t.equal(addresses.size, 5, 'addresses are unique');
});

t.test('every node has its own id and nick, the fixed port, joins #lobby; some chatter', async (t) => {
  const known = nodeEnvVars();
  const ids = new Set<string>();
  let chatterers = 0;
  for (const svc of project.services) {
    const env = svc.environment;
    t.ok(env.CHANMESH_ID, `${svc.name} has CHANMESH_ID`);
    ids.add(env.CHANMESH_ID!);
    t.ok(env.CHANMESH_NICK, `${svc.name} has a nick`);
    t.equal(env.CHANMESH_PORT, '50000', `${svc.name} listens on the port the health check probes`);
    t.ok((env.CHANMESH_JOIN ?? '').split(',').includes('#lobby'), `${svc.name} joins #lobby`);
    t.ok(['pretty', 'json'].includes(env.CHANMESH_LOG_FORMAT ?? ''), `${svc.name} has a log format`);
    if (env.CHANMESH_CHATTER !== undefined) {
      chatterers++;
      t.ok(parseDuration(env.CHANMESH_CHATTER) > 0, `${svc.name} chatter interval parses`);
    }
    for (const key of Object.keys(env).filter((k) => k.startsWith('CHANMESH_'))) {
      t.ok(known.has(key), `${svc.name}: ${key} is a flag of chanmesh node`);
    }
  }
  t.equal(ids.size, 5, 'ids are unique');
  t.ok(chatterers >= 2 && chatterers < 5, `some nodes chatter (${chatterers}), so chat goes on when any one is killed`);
  t.notOk(project.services[0]!.environment.CHANMESH_CHATTER, 'node1 (the one docs/deploy.md has people exec into) does not chatter');
});

const COMMAND = ['node', '--metrics', '0.0.0.0:9464'];

t.test('services run this image: built here, its CMD (`node` with metrics for a scraper elsewhere), attachable, init', async (t) => {
  const images = new Set<unknown>();
  for (const [name, svc] of Object.entries(services)) {
    t.equal(svc.build, '.', `${name} is built from this directory`);
    images.add(svc.image);
    t.notOk('command' in svc, `${name} runs the image's CMD: the metrics flag lives once, in the Dockerfile`);
    t.equal(svc.stdin_open, true, `${name} keeps stdin open (the node quits at its end)`);
    t.equal(svc.tty, true, `${name} has a TTY for attach`);
    t.equal(svc.init, true, `${name} runs under an init (signals, reaping)`);
  }
  t.equal(images.size, 1, 'one image name, so Compose builds it once');
  t.same(dockerfile.cmd, COMMAND, "the image's CMD: `chanmesh node` with its metrics open to the container's network");
  for (const svc of project.services) t.same(svc.command, COMMAND, `cluster runs ${svc.name} with the image's CMD`);
  t.same(parseListen(COMMAND[2]!), { address: '0.0.0.0', port: IMAGE_METRICS_PORT }, 'metrics on every interface, at the port `chanmesh health` asks');
});

t.test('Dockerfile: multi-stage node:20-slim, npm ci, type check, production deps, non-root, healthcheck', async (t) => {
  const args = new Map<string, string>();
  for (const ins of dockerfile.instructions.filter((i) => i.keyword === 'ARG')) {
    const [key, value] = ins.args.split('=');
    if (key && value) args.set(key, value);
  }
  const resolve = (base: string) => base.replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args.get(name) ?? base);
  t.ok(dockerfile.stages.length >= 2, `multi-stage (${dockerfile.stages.length} stages)`);
  for (const stage of dockerfile.stages) t.equal(resolve(stage.base), 'node:20-slim', `stage ${stage.name ?? '?'} is on node:20-slim`);
  const runs = dockerfile.instructions.filter((i) => i.keyword === 'RUN');
  const finalIndex = dockerfile.stages.length - 1;
  t.ok(runs.some((r) => /\bnpm ci\b/.test(r.args) && !r.args.includes('--omit=dev')), 'a full npm ci');
  t.ok(runs.some((r) => /tsc -p \. --noEmit/.test(r.args)), 'the type check is the build');
  const prodStage = runs.find((r) => r.args.includes('npm ci --omit=dev'));
  t.ok(prodStage, 'npm ci --omit=dev installs production dependencies only');
  const prodName = dockerfile.stages[prodStage?.stage ?? -1]?.name;
  const copies = dockerfile.instructions.filter((i) => i.keyword === 'COPY' && i.stage === finalIndex);
  t.ok(
    copies.some((c) => c.flags.from === prodName && c.args.includes('node_modules')),
    'the runtime stage takes node_modules from the production-only stage',
  );
  const checkStage = runs.find((r) => /tsc -p/.test(r.args))!.stage;
  t.ok(
    copies.some((c) => c.flags.from === dockerfile.stages[checkStage]?.name),
    'the runtime stage copies from the checked stage (so BuildKit cannot skip the check)',
  );
  t.ok(dockerfile.user && !/^(root|0)(:|$)/.test(dockerfile.user), `runs as a non-root user (${dockerfile.user})`);
  t.match(dockerfile.healthcheck ?? '', /chanmesh.*health/, 'HEALTHCHECK runs `chanmesh health`');
  t.same(dockerfile.entrypoint, ['chanmesh'], 'ENTRYPOINT is chanmesh');
  t.ok(
    dockerfile.instructions.some((i) => i.stage === finalIndex && /ln -s \S*bin\/chanmesh\.js \/usr\/local\/bin\/chanmesh/.test(i.args)),
    'chanmesh is on PATH for the entrypoint, the health check and `exec`',
  );
  t.equal(dockerfile.env.CHANMESH_PORT, '50000', 'the image default port is the one compose and the health check use');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  t.ok(pkg.dependencies.tsx, 'tsx is a production dependency: the runtime image runs the sources through it');
  t.match(fs.readFileSync(path.join(root, 'bin/chanmesh.js'), 'utf8'), /tsx/, 'bin/chanmesh.js loads tsx');
});

t.test('.dockerignore keeps the host node_modules and .git out of the context', async (t) => {
  const ignored = fs
    .readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const entry of ['node_modules', '.git', '.tap', 'coverage']) t.ok(ignored.includes(entry), `ignores ${entry}`);
  t.notOk(ignored.includes('package-lock.json'), 'keeps the lockfile (npm ci needs it)');
  t.notOk(ignored.includes('test'), 'keeps the tests (the type check covers them)');
});

t.test('the namespace cluster keeps the compose addresses when they are safe, else remaps', async (t) => {
  const kept = planAddresses(project, [parseCidr('192.0.2.0/24'), parseCidr('127.0.0.0/8')]);
  t.equal(kept.remapped, false, 'no clash: the compose subnet');
  for (const svc of project.services) t.equal(kept.addresses.get(svc.name), svc.ipv4Address, `${svc.name} keeps ${svc.ipv4Address}`);

  const clash = planAddresses(project, [parseCidr('172.28.0.0/16')]);
  t.equal(clash.remapped, true, 'a host route overlapping the subnet: remapped');
  t.match(clash.reason ?? '', /overlaps/);
  const last = (ip: string) => ip.split('.').pop();
  for (const svc of project.services) {
    const address = clash.addresses.get(svc.name)!;
    t.ok(cidrContains(clash.subnet, ipToInt(address)), `${svc.name} -> ${address}`);
    t.equal(last(address), last(svc.ipv4Address!), 'same host number');
  }
  t.throws(() => planAddresses(project, [], '8.8.8.0/24'), /private/, 'a public --subnet is refused');
  const publicCompose = readComposeProject(composeText.replace(/172\.28\.77\./g, '198.51.100.'));
  t.equal(planAddresses(publicCompose, []).remapped, true, 'a non-private compose subnet is never used');
});

t.test('compose and Dockerfile parsing details', async (t) => {
  const quoted = readComposeProject(`services:\n  a:\n    command: node --join '#a b' "x\\"y" z\n`);
  t.same(quoted.services[0]!.command, ['node', '--join', '#a b', 'x"y', 'z'], 'a string command is split as a shell splits it');
  t.throws(() => readComposeProject(`services:\n  a:\n    command: node --join "#a\n`), /quoted string/, 'an unterminated quote is an error');
  const listForm = readComposeProject('services:\n  a:\n    command: node --chatter 2s\n    environment:\n      - CHANMESH_ID=a\n      - FROM_HOST\n');
  t.same(listForm.services[0]!.command, ['node', '--chatter', '2s']);
  t.same(listForm.services[0]!.environment, { CHANMESH_ID: 'a' }, 'list form; host pass-through entries are left out');
  t.throws(() => readComposeProject('services:\n  a:\n    entrypoint: ["sh"]\n'), /entrypoint/);
  t.throws(() => readComposeProject('services:\n  -a:\n    command: node\n'), /-a/, 'an unusable service name, named');
  t.throws(() => readComposeProject('services:\n  a:\n    environment: { A: { b: 1 } }\n'), /services\.a\.environment/, 'a nested environment value, where it is');
  t.throws(() => readComposeProject('networks: {}\n'), /services/, 'no services');
  // What spawn cannot take stops the parse, not `up` half-way with its namespaces made.
  t.throws(() => readComposeProject('services:\n  a:\n    environment: { A: "x\\0y" }\n'), /no NUL/, 'a NUL in an environment value');
  t.throws(() => readComposeProject('services:\n  a:\n    environment: { "B=C": 1 }\n'), /environment names/, 'a name that is no variable name (it would set B)');
  t.throws(() => readComposeProject('services:\n  a:\n    environment: ["E F=1"]\n'), /environment names/, 'nor in the list form');
  t.same(readComposeProject('services:\n  a:\n    environment: ["B=C=D"]\n').services[0]!.environment, { B: 'C=D' }, 'a value may hold =');
  t.throws(() => readComposeProject('services:\n  a:\n    command: ["node", "x\\0"]\n'), /no NUL/, 'a NUL in an argument');
  const mapForm = readComposeProject('services:\n  a:\n    environment: { N: 3, B: true, UNSET: null }\n    networks:\n      mesh: { ipv4_address: 10.1.2.3 }\nnetworks:\n  mesh:\n    ipam: { config: [{ subnet: 10.1.2.0/24 }] }\n');
  t.same(mapForm.services[0], { name: 'a', command: ['node'], environment: { N: '3', B: 'true' }, network: 'mesh', ipv4Address: '10.1.2.3' }, 'map forms; unset variables left out');
  t.same(mapForm.networks, [{ name: 'mesh', subnet: '10.1.2.0/24' }]);
  const df = parseDockerfile('FROM x AS a\nENV A=1 \\\n  B="two words"\nFROM y\nENV C 3 4\nUSER 1000\nCMD node');
  t.same(df.stages, [{ base: 'x', name: 'a' }, { base: 'y' }]);
  t.same(df.env, { C: '3 4' }, 'ENV of the final stage only, legacy form');
  t.same(df.cmd, ['/bin/sh', '-c', 'node'], 'shell-form CMD');
  t.equal(df.user, '1000');
});

t.test('node output: JSON events and chat lines', async (t) => {
  const event = parseNodeLine('{"level":40,"time":0,"node":"n1","event":"takeover","channel":"#lobby","epoch":3,"msg":"takeover"}');
  t.equal(event.kind, 'event');
  if (event.kind === 'event') t.match(formatEvent(event.event), /WARN {2}n1 takeover channel=#lobby epoch=3$/);
  t.same(parseNodeLine('[#lobby] <node2> hello there'), { kind: 'chat', chat: { channel: '#lobby', author: 'node2', text: 'hello there' } });
  t.same(parseNodeLine('* joined #lobby'), { kind: 'text', text: '* joined #lobby' });
  const split = new LineSplitter();
  t.same(split.push('a\nb'), ['a']);
  t.same(split.push('c\n'), ['bc']);
  t.same(split.flush(), []);
});
