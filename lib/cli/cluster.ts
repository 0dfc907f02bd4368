// `chanmesh cluster`: the docker-compose.yml cluster without Docker. As root,
// every compose service becomes a Linux network namespace (its own "host"),
// plugged by a veth pair into a bridge, running the service's command with
// the service's environment, both read from docker-compose.yml (and the
// image's CMD/ENV from the Dockerfile), so the two never drift apart.
//
// Layout (prefix "cm-"):
//
//   cm-hub   namespace holding the bridge cm-br0 and the hub ends of the veths
//            (cm-node1 ... ); partition groups get extra bridges cm-br1, ...
//   cm-node1 namespace with lo and eth0 (address from the compose file),
//            route 224.0.0.0/4 dev eth0, the node process
//
// Nothing is created in the host's own network namespace: no interface, no
// address, no route. The namespaces have no default route and the bridge is
// connected to nothing else, so no packet can leave the cluster. `down`
// deletes the namespaces, which deletes every veth and bridge with them.
//
// This file is the commands; lib/cli/cluster/ has what they are made of:
// addresses, network (bridges, veths), processes, project (the compose file),
// state (cluster.json), logs, shell (running `ip`, output).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { hostPrefixes, planAddresses } from './cluster/addresses.ts';
import { type LogOptions, followLogs, makePrinter, printHistory } from './cluster/logs.ts';
import { addBridge, bridgeOf, createNetwork, healNetwork } from './cluster/network.ts';
import { type ProcessState, fifoPath, fileSize, livePid, logPath, noteInLog, processState, signal, startService, stopService, waitDead, waitStarted } from './cluster/processes.ts';
import { loadProject } from './cluster/project.ts';
import { ClusterError, EXIT_UNAVAILABLE, ip, listNamespaces, requireRootAndIp, run, say, validatePrefix, warn } from './cluster/shell.ts';
import { type ClusterState, ClusterStateError, findService, readState, requireState, type ServiceState, statePath, writeState } from './cluster/state.ts';
import { ComposeError, formatCidr } from './compose.ts';
import { parseNodeLine } from './node-output.ts';
import { parseDuration, parsePduInterval, usageExitCode } from './options.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_STATE_DIR = '/run/chanmesh-cluster';
export const DEFAULT_PREFIX = 'cm-';
interface CommonOptions {
  file: string;
  stateDir: string;
  prefix: string;
  bin: string;
}

// ---- the subcommands ----------------------------------------------------------

interface UpOptions {
  detach?: boolean;
  pduInterval?: string;
  env: string[];
  subnet?: string;
  wait: boolean;
  /** ms */
  waitTimeout: number;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
  };
  for (const key of ['TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  return env;
}

function parseEnvOverrides(list: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ClusterError(`--env expects KEY=VALUE, got "${item}"`);
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

async function up(common: CommonOptions, options: UpOptions): Promise<number> {
  requireRootAndIp();
  const dir = common.stateDir;
  const { project, imageEnv } = loadProject(common.file);
  const existing = readState(dir);
  const ours = new Set([`${common.prefix}hub`, ...project.services.map((s) => `${common.prefix}${s.name}`)]);
  const leftovers = listNamespaces().filter((n) => ours.has(n));
  if (existing || leftovers.length > 0) {
    throw new ClusterError(
      `a cluster with prefix "${common.prefix}" is already up (${existing ? statePath(dir) : leftovers.join(', ')}); ` +
        '`status` shows it, `down` removes it',
    );
  }
  // Can this machine make namespaces at all? (containers often cannot)
  const probe = `${common.prefix}probe`;
  const made = run('ip', ['netns', 'add', probe], true);
  if (!made.ok) throw new ClusterError(`\`ip netns add\` does not work here: ${made.stderr.trim()}`, EXIT_UNAVAILABLE);
  run('ip', ['netns', 'del', probe], true);

  const plan = planAddresses(project, hostPrefixes(), options.subnet);
  const network = project.networks.find((n) => n.name === project.services[0]?.network);
  if (plan.remapped) {
    say(`note: using ${formatCidr(plan.subnet)} instead of the compose file's ${network?.subnet ?? '(none)'}: ${plan.reason ?? '--subnet'}`);
  }
  const overrides = parseEnvOverrides(options.env);
  if (options.pduInterval) overrides.CHANMESH_PDU_INTERVAL = options.pduInterval;
  const hub = `${common.prefix}hub`;
  const state: ClusterState = {
    version: 1,
    prefix: common.prefix,
    composeFile: path.resolve(common.file),
    bin: path.resolve(common.bin),
    cwd: PROJECT_ROOT,
    hub,
    bridge: `${common.prefix}br0`,
    subnet: formatCidr(plan.subnet),
    remapped: plan.remapped,
    services: project.services.map((svc, i) => {
      const ns = `${common.prefix}${svc.name}`;
      const address = plan.addresses.get(svc.name)!;
      const veth = ns.length <= 15 ? ns : `${common.prefix}v${i + 1}`;
      // Like a container: the image's ENV, then the service's environment;
      // the interface is the namespace's address; --env/--pdu-interval last.
      const execEnv = { ...baseEnv(), ...imageEnv, ...svc.environment, CHANMESH_IFACE: address, ...overrides };
      // The cluster reads its nodes' events, so their logs are JSON (unless
      // --env says otherwise); `logs` renders them for people.
      const env = { ...execEnv, CHANMESH_LOG_FORMAT: overrides.CHANMESH_LOG_FORMAT ?? 'json' };
      return { name: svc.name, ns, address, hubVeth: veth, command: svc.command, env, execEnv };
    }),
    partition: null,
    createdAt: Date.now(),
  };
  if (network?.subnet) state.composeSubnet = network.subnet;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeState(dir, state);
  try {
    createNetwork(state);
  } catch (error) {
    warn(`creating the network failed, removing what was made: ${(error as Error).message}`);
    await teardown(common, false);
    return 1;
  }
  const offsets = new Map<string, number>();
  for (const svc of state.services) {
    offsets.set(svc.name, fileSize(logPath(dir, svc.name)));
    startService(state, dir, svc);
  }
  writeState(dir, state);
  say(`cluster up: ${state.services.length} namespaces on ${state.subnet} (bridge ${state.bridge} in ${hub}), state in ${dir}`);
  let failed: string[] = [];
  if (options.wait) {
    failed = await waitStarted(dir, state.services, offsets, options.waitTimeout);
  }
  printStatus(state, dir);
  if (failed.length > 0) warn(`not started: ${failed.join(', ')}. Inspect with \`logs\`, remove with \`down\`.`);
  if (options.detach) {
    say('detached: `status`, `logs -f`, `kill <svc>`, `partition a,b c,d`, `heal`, `down`');
    return failed.length > 0 ? 1 : 0;
  }
  // Foreground, like `docker compose up`: follow the logs; Ctrl-C tears down.
  say('following the logs; Ctrl-C stops the cluster and removes it');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  await followLogs(state, dir, state.services.map((s) => s.name), { json: false, from: offsets }, stop.signal);
  say('\nstopping the cluster');
  await teardown(common, false);
  return 0;
}

/** Kills every process of ours, deletes our namespaces (and so every veth and bridge). */
async function teardown(common: CommonOptions, keepLogs: boolean): Promise<{ namespaces: number; processes: number }> {
  const dir = common.stateDir;
  let state: ClusterState | undefined;
  try {
    state = readState(dir);
  } catch (error) {
    // `down` is how a broken state file goes: clean up by prefix and compose file instead.
    if (!(error instanceof ClusterStateError)) throw error;
    warn(error.message);
  }
  const prefix = state?.prefix ?? common.prefix;
  validatePrefix(prefix);
  const ours = new Set<string>([`${prefix}hub`, `${prefix}probe`]);
  for (const svc of state?.services ?? []) ours.add(svc.ns);
  try {
    for (const svc of loadProject(state?.composeFile ?? common.file).project.services) ours.add(`${prefix}${svc.name}`);
  } catch {
    // no readable compose file: the state file and the hub name still tell
  }
  const present = listNamespaces().filter((ns) => ours.has(ns));
  // Every process in our namespaces (the nodes, and shells a person opened
  // with `exec`); frozen ones get SIGCONT first so that SIGKILL lands at once.
  const pids = new Set<number>();
  for (const ns of present) {
    for (const line of run('ip', ['netns', 'pids', ns], true).stdout.split('\n')) {
      const pid = Number(line.trim());
      if (pid > 1 && pid !== process.pid) pids.add(pid);
    }
  }
  for (const svc of state?.services ?? []) {
    // A node whose namespace is already gone: kill it only if it is ours.
    if (svc.pid && processState(svc.pid) !== 'dead' && !pids.has(svc.pid) && cmdlineOf(svc.pid).includes(state!.bin)) pids.add(svc.pid);
  }
  for (const pid of pids) signal(pid, 'SIGCONT');
  for (const pid of pids) signal(pid, 'SIGKILL');
  for (const pid of pids) await waitDead(pid, 3000);
  // Node namespaces first (their veth ends vanish with them), the hub last.
  const order = present.filter((ns) => ns !== `${prefix}hub`).concat(present.filter((ns) => ns === `${prefix}hub`));
  for (const ns of order) run('ip', ['netns', 'del', ns], true);
  const remaining = listNamespaces().filter((ns) => ours.has(ns));
  if (remaining.length > 0) throw new ClusterError(`could not delete namespaces: ${remaining.join(', ')}`);
  // State, pid files and FIFOs go; logs too unless asked to keep them.
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) {
      const isLog = name.endsWith('.log');
      if (name === 'cluster.json' || name === 'cluster.json.tmp' || name.endsWith('.pid') || name.endsWith('.stdin') || (isLog && !keepLogs)) {
        fs.rmSync(path.join(dir, name), { force: true });
      }
    }
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  }
  return { namespaces: present.length, processes: pids.size };
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

interface ServiceRow {
  service: string;
  id: string;
  namespace: string;
  address: string;
  pid: number | null;
  state: ProcessState;
  bridge: string;
  hosts: string[];
}

function serviceRows(state: ClusterState, dir: string): ServiceRow[] {
  const bridges = bridgeOf(state);
  return state.services.map((svc) => {
    const pid = livePid(svc);
    return {
      service: svc.name,
      id: svc.env.CHANMESH_ID ?? svc.name,
      namespace: svc.ns,
      address: svc.address,
      pid: pid ?? null,
      state: pid ? processState(pid) : 'dead',
      bridge: bridges.get(svc.name) ?? '-',
      hosts: pid ? hostedChannels(logPath(dir, svc.name)) : [],
    };
  });
}

/** Channels the node's current incarnation says it hosts (from its log). */
function hostedChannels(file: string): string[] {
  const hosted = new Map<string, number>();
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = parseNodeLine(line);
    if (parsed.kind !== 'event') continue;
    const e = parsed.event;
    const channel = typeof e.channel === 'string' ? e.channel : undefined;
    if (e.event === 'node.started' || e.event === 'cluster.start') hosted.clear();
    else if ((e.event === 'channel.created' || e.event === 'takeover') && channel) hosted.set(channel, Number(e.epoch ?? 0));
    else if (e.event === 'channel.closed' && channel) hosted.delete(channel);
  }
  return [...hosted].map(([channel, epoch]) => `${channel}@${epoch}`);
}

function printStatus(state: ClusterState, dir: string): void {
  const rows = serviceRows(state, dir);
  const table = [['SERVICE', 'ADDRESS', 'PID', 'STATE', 'BRIDGE', 'HOSTS']].concat(
    rows.map((r) => [r.service, r.address, r.pid ? String(r.pid) : '-', r.state, r.bridge, r.hosts.join(' ') || '-']),
  );
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  for (const row of table) say(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd());
  if (state.partition) say(`partitioned: ${describePartition(state)}`);
}

function describePartition(state: ClusterState): string {
  const groups = state.partition ?? [];
  const listed = new Set(groups.flat());
  const rest = state.services.map((s) => s.name).filter((n) => !listed.has(n));
  return groups
    .concat(rest.length > 0 ? [rest] : [])
    .map((g) => `[${g.join(',')}]`)
    .join(' | ');
}

// ---- wiring -------------------------------------------------------------------

function addCommon(cmd: Command): Command {
  return cmd
    .option('--file <path>', 'the compose file', path.join(PROJECT_ROOT, 'docker-compose.yml'))
    .option('--state-dir <dir>', 'where state, pid files and logs live', process.env.CHANMESH_CLUSTER_STATE ?? DEFAULT_STATE_DIR)
    .option('--prefix <prefix>', 'prefix of every namespace, veth and bridge', DEFAULT_PREFIX)
    .option('--bin <path>', 'the chanmesh entry script the nodes run', path.join(PROJECT_ROOT, 'bin', 'chanmesh.js'));
}

function commonOf(options: Record<string, unknown>): CommonOptions {
  const common: CommonOptions = {
    file: String(options.file),
    stateDir: path.resolve(String(options.stateDir)),
    prefix: String(options.prefix),
    bin: String(options.bin),
  };
  validatePrefix(common.prefix);
  return common;
}

/** What every command on a cluster that is up starts with: root, and the cluster's state. */
function runningCluster(options: Record<string, unknown>): { common: CommonOptions; state: ClusterState } {
  requireRootAndIp();
  const common = commonOf(options);
  return { common, state: requireState(common.stateDir) };
}

/** Starts a service's node and records its pid in the state. */
function startRecorded(state: ClusterState, dir: string, svc: ServiceState): void {
  const pid = startService(state, dir, svc);
  writeState(dir, state);
  say(`${svc.name}: started (pid ${pid})`);
}

function collect(value: string, previous: string[]): string[] {
  return previous.concat([value]);
}

/** Refuse a value the nodes would refuse, here and at once; pass it on as written. */
function checked(parse: (value: string) => unknown) {
  return (value: string): string => {
    parse(value);
    return value;
  };
}

export async function runClusterCommand(args: string[]): Promise<number> {
  // `cluster logs | head` and the like: a closed pipe ends the output, not the command.
  process.stdout.on('error', () => {});
  let code = 0;
  const program = new Command('chanmesh cluster')
    .description(
      'the docker-compose.yml cluster in Linux network namespaces (root): one namespace per service on a bridge, ' +
        'the same command and environment as the compose file',
    )
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError();

  addCommon(program.command('up'))
    .description('create the namespaces and the bridge, start every service (foreground: Ctrl-C tears down)')
    .option('-d, --detach', 'return once started; stop later with `down`')
    .option('--pdu-interval <duration>', 'override CHANMESH_PDU_INTERVAL for every node (e.g. 200ms; 10 ms to 1 h)', checked(parsePduInterval))
    .option('-e, --env <KEY=VALUE>', 'override an environment variable for every node (repeatable)', collect, [])
    .option('--subnet <cidr>', 'use this private subnet instead of the compose file\'s')
    .option('--no-wait', 'do not wait for each node to log node.started')
    .addOption(new Option('--wait-timeout <duration>', 'how long to wait for the nodes to start').argParser(parseDuration).default(60_000, '60s'))
    .action(async (options: UpOptions & Record<string, unknown>) => {
      code = await up(commonOf(options), options);
    });

  addCommon(program.command('status'))
    .description('services, addresses, processes, bridges (partition) and hosted channels')
    .option('--json', 'machine-readable')
    .action((options: { json?: boolean } & Record<string, unknown>) => {
      const { common, state } = runningCluster(options); // processes in namespaces and the hub's bridges are visible to root only
      if (options.json) {
        say(JSON.stringify({ subnet: state.subnet, hub: state.hub, bridge: state.bridge, partition: state.partition, services: serviceRows(state, common.stateDir) }, null, 2));
      } else {
        say(`subnet ${state.subnet}${state.remapped ? ` (compose file: ${state.composeSubnet ?? '-'})` : ''}, bridge ${state.bridge} in namespace ${state.hub}`);
        printStatus(state, common.stateDir);
      }
    });

  const signalCommand = (name: string, sig: NodeJS.Signals, description: string, event: string) =>
    addCommon(program.command(name))
      .description(description)
      .argument('<service...>')
      .action((services: string[], options: Record<string, unknown>) => {
        const { common, state } = runningCluster(options);
        for (const name of services) {
          const svc = findService(state, name);
          const pid = livePid(svc);
          if (!pid) throw new ClusterError(`${name} is not running`);
          noteInLog(common.stateDir, svc, event, `${sig} to ${name} (pid ${pid})`, {}, sig === 'SIGCONT' ? 30 : 40);
          signal(pid, sig);
          say(`${name}: ${sig} (pid ${pid})`);
        }
      });
  signalCommand('kill', 'SIGKILL', 'crash a node: SIGKILL', 'cluster.kill');
  signalCommand('freeze', 'SIGSTOP', 'freeze a node: SIGSTOP (a hung host: its sockets stay open, nothing answers)', 'cluster.freeze');
  signalCommand('thaw', 'SIGCONT', 'thaw a frozen node: SIGCONT', 'cluster.thaw');

  /** Graceful stop (SIGTERM, SIGKILL after the grace time); with `thenStart`, a new process after it. */
  const stopCommand = (name: string, description: string, thenStart: boolean) =>
    addCommon(program.command(name))
      .description(description)
      .argument('<service...>')
      .addOption(new Option('--grace <duration>', 'time between SIGTERM and SIGKILL').argParser(parseDuration).default(5_000, '5s'))
      .action(async (services: string[], options: { grace: number } & Record<string, unknown>) => {
        const { common, state } = runningCluster(options);
        for (const name of services) {
          const svc = findService(state, name);
          if (!thenStart) noteInLog(common.stateDir, svc, 'cluster.stop', `stopping ${name}`);
          await stopService(common.stateDir, svc, options.grace);
          if (!thenStart) {
            say(`${name}: stopped`);
            continue;
          }
          startRecorded(state, common.stateDir, svc);
        }
      });
  stopCommand('stop', 'stop a node gracefully (SIGTERM, SIGKILL after the grace time)', false);
  stopCommand('restart', 'stop a node (SIGTERM, then SIGKILL) if it runs, and start it again: a new incarnation', true);

  addCommon(program.command('start'))
    .description('start a node that is not running')
    .argument('<service...>')
    .action((services: string[], options: Record<string, unknown>) => {
      const { common, state } = runningCluster(options);
      for (const name of services) {
        const svc = findService(state, name);
        if (livePid(svc)) {
          say(`${name}: already running (pid ${svc.pid})`);
          continue;
        }
        startRecorded(state, common.stateDir, svc);
      }
    });

  addCommon(program.command('partition'))
    .description(
      'cut the network between groups, e.g. `partition node1,node2 node3,node4,node5`: each group gets its own bridge, ' +
        'so neither multicast nor TCP crosses; services named in no group stay together on the main bridge',
    )
    .argument('<group...>', 'comma-separated services')
    .action((groupsText: string[], options: Record<string, unknown>) => {
      const { common, state } = runningCluster(options);
      const groups = groupsText.map((g) => g.split(',').map((s) => s.trim()).filter(Boolean));
      const seen = new Set<string>();
      for (const name of groups.flat()) {
        findService(state, name);
        if (seen.has(name)) throw new ClusterError(`${name} is in two groups`);
        seen.add(name);
      }
      healNetwork(state);
      groups.forEach((group, i) => {
        const bridge = `${state.prefix}br${i + 1}`;
        addBridge(state.hub, bridge);
        for (const name of group) ip('-n', state.hub, 'link', 'set', findService(state, name).hubVeth, 'master', bridge);
      });
      state.partition = groups;
      writeState(common.stateDir, state);
      for (const svc of state.services) noteInLog(common.stateDir, svc, 'cluster.partition', describePartition(state));
      say(`partitioned: ${describePartition(state)}`);
    });

  addCommon(program.command('heal'))
    .description('undo a partition: every service back on the main bridge')
    .action((options: Record<string, unknown>) => {
      const { common, state } = runningCluster(options);
      healNetwork(state);
      writeState(common.stateDir, state);
      for (const svc of state.services) noteInLog(common.stateDir, svc, 'cluster.heal', 'partition healed');
      say('healed: every service is on the main bridge again');
    });

  addCommon(program.command('logs'))
    .description("the nodes' output (chat lines and log events), interleaved by time; JSON events rendered readably")
    .argument('[service...]')
    .option('-f, --follow', 'keep printing new lines')
    .option('--json', 'JSON lines: the events as they are, chat as {service, text}; each with its service')
    .option('-n, --tail <lines>', 'only the last lines of each service')
    .action(async (services: string[], options: { follow?: boolean; json?: boolean; tail?: string } & Record<string, unknown>) => {
      const common = commonOf(options);
      const state = requireState(common.stateDir);
      for (const name of services) findService(state, name);
      const names = services.length > 0 ? services : state.services.map((s) => s.name);
      const logOptions: LogOptions = { json: options.json === true, from: 'start' };
      if (options.tail !== undefined) logOptions.tail = Number(options.tail);
      if (!options.follow) {
        printHistory(common.stateDir, names, logOptions, makePrinter(state.services.map((s) => s.name), logOptions.json));
        return;
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followLogs(state, common.stateDir, names, logOptions, stop.signal);
    });

  addCommon(program.command('send'))
    .description('type a line into a node\'s stdin, e.g. `send node1 /say #lobby hello` or `send node1 /peers`')
    .argument('<service>')
    .argument('<text...>')
    .action((name: string, words: string[], options: Record<string, unknown>) => {
      const { common, state } = runningCluster(options);
      const svc = findService(state, name);
      if (!livePid(svc)) throw new ClusterError(`${name} is not running`);
      const fd = fs.openSync(fifoPath(common.stateDir, name), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      try {
        fs.writeSync(fd, `${words.join(' ')}\n`);
      } finally {
        fs.closeSync(fd);
      }
    });

  addCommon(program.command('exec'))
    .description(
      'run a command in a service\'s namespace with its environment, like `docker compose exec`; ' +
        '`chanmesh` means this checkout\'s bin, e.g. `exec node1 chanmesh node --id alice --nick alice --port 0 --join "#lobby"`',
    )
    .argument('<service>')
    .argument('[command...]', 'default: a shell')
    .passThroughOptions()
    .action((name: string, command: string[], options: Record<string, unknown>) => {
      const { state } = runningCluster(options);
      const svc = findService(state, name);
      let argv = command.length > 0 ? command : [process.env.SHELL ?? '/bin/sh'];
      if (argv[0] === 'chanmesh') argv = [process.execPath, state.bin, ...argv.slice(1)];
      const env = { ...svc.execEnv, TERM: process.env.TERM ?? 'xterm' };
      const result = spawnSync('ip', ['netns', 'exec', svc.ns, ...argv], { stdio: 'inherit', env, cwd: state.cwd });
      code = result.status ?? 1;
    });

  addCommon(program.command('down'))
    .description('kill every process in the namespaces, delete namespaces, veths, bridges and the state (idempotent)')
    .option('--keep-logs', 'keep the log files in the state dir')
    .action(async (options: { keepLogs?: boolean } & Record<string, unknown>) => {
      requireRootAndIp();
      const common = commonOf(options);
      const result = await teardown(common, options.keepLogs === true);
      say(`down: killed ${result.processes} process(es), deleted ${result.namespaces} namespace(s)`);
    });

  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return usageExitCode(error);
    if (error instanceof ClusterError) {
      warn(error.message);
      return error.exitCode;
    }
    if (error instanceof ComposeError || error instanceof ClusterStateError) {
      warn(error.message);
      return 1;
    }
    throw error;
  }
  return code;
}
