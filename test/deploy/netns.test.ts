// The docker-compose.yml cluster in network namespaces (`chanmesh cluster`),
// end to end through the CLI: five nodes discover each other over the bridge,
// SIGKILL of #lobby's host is followed by failover and chat goes on, a 2/3
// partition and its heal leave one host for the channel (and for the private
// @crew, which only a blinded tag announces), every node's metrics are
// scraped across the bridge, the image's health check finds a frozen node,
// and `down` leaves no namespace, veth, bridge or process behind.
//
// Needs root and working `ip netns`; elsewhere the whole file is reported as
// skipped with the reason. Its own prefix (cmt-) and state directory keep it
// apart from a cluster a person may have up (cm-).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadProject } from '../../lib/cli/cluster/project.ts';
import { parseListen } from '../../lib/cli/options.ts';
import { parseNodeLine, type NodeEvent } from '../../lib/cli/node-output.ts';
import { procState, waitFor } from './proc.ts';
import { parseExposition } from '../helpers/exposition.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'bin/chanmesh.js');
const PREFIX = 'cmt-';
const CHANNEL = '#lobby';
/** Joined by typing into every node: never named in a PDU, found and healed through its hidden tag (protocol 5.6). */
const PRIVATE = '@crew';
const PDU_INTERVAL = '250ms';
/** Run in a node's namespace: prints the exposition at argv[1], exits 1 unless it is a 200. */
const SCRAPE = `fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.status === 200 ? 0 : 1); }, (e) => { console.error(e); process.exit(1); })`;

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const version = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'the iproute2 `ip` command is not installed';
  const probe = spawnSync('ip', ['netns', 'add', `${PREFIX}probe`], { encoding: 'utf8' });
  if (probe.status !== 0) return `\`ip netns add\` does not work here: ${probe.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', `${PREFIX}probe`]);
  return undefined;
}

const reason = whyNot();
if (reason) {
  t.plan(0, `skipped: ${reason}`);
} else {
  await clusterTest();
}

async function clusterTest(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chanmesh-netns-'));
  // As the cluster reads it: a service without `command:` runs the image's CMD.
  const { project } = loadProject(path.join(root, 'docker-compose.yml'));
  const services = project.services.map((s) => s.name);
  const idOf = new Map(project.services.map((s) => [s.name, s.environment.CHANMESH_ID ?? s.name]));
  const chatterers = project.services.filter((s) => s.environment.CHANMESH_CHATTER).map((s) => s.name);
  const pidsSeen = new Set<number>();

  const cluster = (...args: string[]) => {
    const [command, ...rest] = args;
    const result = spawnSync(process.execPath, [BIN, 'cluster', command!, '--prefix', PREFIX, '--state-dir', stateDir, ...rest], {
      encoding: 'utf8',
      cwd: root,
      timeout: 120_000,
    });
    return { code: result.status, out: result.stdout, err: result.stderr };
  };

  t.teardown(() => {
    cluster('down');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  // ---- reading the nodes' logs --------------------------------------------
  const logText = (svc: string) => {
    try {
      return fs.readFileSync(path.join(stateDir, `${svc}.log`), 'utf8');
    } catch {
      return '';
    }
  };
  const offsets = () => new Map(services.map((s) => [s, Buffer.byteLength(logText(s))]));
  /** Node events (not the cluster tool's notes) and chat lines, after a byte offset. */
  const output = (svc: string, from = 0) => {
    const events: NodeEvent[] = [];
    const chat: Array<{ channel: string; author: string; text: string }> = [];
    const text = Buffer.from(logText(svc)).subarray(from).toString('utf8');
    for (const line of text.split('\n')) {
      const parsed = parseNodeLine(line);
      if (parsed.kind === 'event' && parsed.event.source !== 'chanmesh-cluster') events.push(parsed.event);
      if (parsed.kind === 'chat') chat.push(parsed.chat);
    }
    return { events, chat };
  };
  const status = () => {
    const result = cluster('status', '--json');
    const parsed = JSON.parse(result.out) as { services: Array<{ service: string; id: string; namespace: string; address: string; pid: number | null; state: string }> };
    for (const s of parsed.services) if (s.pid) pidsSeen.add(s.pid);
    return parsed.services;
  };
  const live = () => status().filter((s) => s.state === 'running').map((s) => s.service);
  /** The channels a node's current incarnation hosts, from its events, with their epochs. */
  const hosted = (svc: string) => {
    const channels = new Map<string, number>();
    for (const e of output(svc).events) {
      if (e.event === 'node.started') channels.clear();
      if (e.event === 'channel.created' || e.event === 'takeover') channels.set(String(e.channel), Number(e.epoch));
      if (e.event === 'channel.closed') channels.delete(String(e.channel));
    }
    return channels;
  };
  /** Which host a member of `channel` last joined (member.joined or failover.finished), and the epoch. */
  const memberView = (svc: string, channel = CHANNEL) => {
    let view: { host: string; epoch: number } | undefined;
    for (const e of output(svc).events) {
      if (e.event === 'node.started') view = undefined;
      if ((e.event === 'member.joined' || e.event === 'failover.finished') && e.channel === channel) view = { host: String(e.host), epoch: Number(e.epoch) };
      if (e.event === 'member.left' && e.channel === channel) view = undefined;
    }
    return view;
  };
  /** One live host of `channel`, and every live node a member of it: its service name. */
  const agreedHost = (among: string[], channel = CHANNEL) => {
    const hosts = among.filter((s) => hosted(s).has(channel));
    if (hosts.length !== 1) return undefined;
    const hostId = idOf.get(hosts[0]!)!;
    return among.every((s) => memberView(s, channel)?.host === hostId) ? hosts[0]! : undefined;
  };
  const explain = (among = services, channel = CHANNEL) => () =>
    among
      .map((s) => `${s}: hosts ${JSON.stringify([...hosted(s)])} member of ${channel} ${JSON.stringify(memberView(s, channel))}\n` + logText(s).split('\n').slice(-12).join('\n'))
      .join('\n');

  // ---- the scenario ---------------------------------------------------------
  await t.test('up: five namespaces from docker-compose.yml, every node started', async (t) => {
    // Leftovers of an aborted earlier run (same prefix) would make `up` refuse.
    t.equal(cluster('down').code, 0, 'down before up: nothing of ours is left from an earlier run');
    const up = cluster('up', '--detach', '--pdu-interval', PDU_INTERVAL);
    t.equal(up.code, 0, `up exits 0\n${up.out}${up.err}`);
    const rows = status();
    t.same(rows.map((r) => r.service), services, 'one namespace per compose service');
    t.ok(rows.every((r) => r.state === 'running' && r.pid), 'every node runs');
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const svc of services) t.match(namespaces, new RegExp(`^${PREFIX}${svc}\\b`, 'm'), `namespace ${PREFIX}${svc}`);
  });

  await t.test('all five discover each other over the bridge', async (t) => {
    for (const svc of services) {
      const others = services.filter((s) => s !== svc).map((s) => idOf.get(s)!);
      await waitFor(
        `${svc} to discover ${others.join(',')}`,
        () => {
          const seen = new Set(output(svc).events.filter((e) => e.event === 'peer.discovered').map((e) => String(e.peer)));
          return others.every((o) => seen.has(o));
        },
        30_000,
        explain([svc]),
      );
      t.pass(`${svc} discovered the other four`);
    }
  });

  let host = '';
  await t.test('#lobby has one host and every node is its member', async (t) => {
    host = await waitFor('one agreed host of #lobby', () => agreedHost(services), 30_000, explain());
    t.pass(`${host} hosts #lobby`);
  });

  await t.test("a scraper in node1's namespace reads every node's metrics across the bridge", async (t) => {
    const scraper = status()[0]!;
    for (const row of status()) {
      const metricsAt = project.services.find((s) => s.name === row.service)!.command;
      const { port } = parseListen(metricsAt[metricsAt.indexOf('--metrics') + 1]!);
      const fetched = spawnSync('ip', ['netns', 'exec', scraper.namespace, process.execPath, '-e', SCRAPE, `http://${row.address}:${port}/metrics`], { encoding: 'utf8', timeout: 20_000 });
      t.equal(fetched.status, 0, `${scraper.service} scraped ${row.service} at ${row.address}:${port}\n${fetched.stderr}`);
      const values = parseExposition(fetched.stdout);
      const value = (name: string) => values.get(name);
      t.equal(value(`chanmesh_node_info{peer_id="${row.id}"}`), 1, `${row.service} says it is ${row.id}`);
      t.equal(value('chanmesh_peers{state="timerAlive"}'), services.length - 1, 'with the other four alive');
      t.equal(value('chanmesh_channels_hosted'), row.service === host ? 1 : 0, row.service === host ? 'the host of #lobby' : 'hosting nothing');
      if (row.service === host) t.equal(value('chanmesh_hosted_members'), services.length, 'all five its members');
    }
  });

  await t.test(`every node joins the private ${PRIVATE} by name: one host, never named in a PDU`, async (t) => {
    for (const svc of services) t.equal(cluster('send', svc, `/join ${PRIVATE}`).code, 0, `${svc} joins ${PRIVATE}`);
    const privateHost = await waitFor(`one agreed host of ${PRIVATE}`, () => agreedHost(services, PRIVATE), 30_000, explain(services, PRIVATE));
    t.pass(`${privateHost} hosts ${PRIVATE}`);
  });

  await t.test('SIGKILL of the host: failover, and chat goes on', async (t) => {
    const before = offsets();
    const epochBefore = hosted(host).get(CHANNEL)!;
    const kill = cluster('kill', host);
    t.equal(kill.code, 0, `kill ${host}`);
    await waitFor(`${host} to be dead`, () => !live().includes(host), 5000);
    const survivors = services.filter((s) => s !== host);
    const takeover = await waitFor(
      'a takeover of #lobby',
      () => {
        for (const s of survivors) {
          const e = output(s, before.get(s)).events.find((x) => x.event === 'takeover' && x.channel === CHANNEL);
          if (e) return { svc: s, event: e };
        }
        return undefined;
      },
      20_000,
      explain(survivors),
    );
    t.equal(takeover.event.previousHost, idOf.get(host), `${takeover.svc} took over from ${host}`);
    t.ok(Number(takeover.event.epoch) > epochBefore, `epoch rose (${epochBefore} -> ${String(takeover.event.epoch)})`);
    const newHost = await waitFor('the survivors to agree on the new host', () => agreedHost(survivors), 20_000, explain(survivors));
    t.not(newHost, host, `${newHost} hosts #lobby now`);
    const finished = survivors.filter((s) => output(s, before.get(s)).events.some((e) => e.event === 'failover.finished' && e.channel === CHANNEL));
    t.ok(finished.length > 0, `failover.finished logged by ${finished.join(',')}`);

    // The chatter goes on ...
    const talking = chatterers.filter((s) => s !== host).map((s) => idOf.get(s)!);
    t.ok(talking.length > 0, 'a chattering node survived');
    const afterFailover = offsets();
    await waitFor(
      'chatter after the failover at every survivor',
      () => survivors.every((s) => output(s, afterFailover.get(s)).chat.some((c) => c.channel === CHANNEL && talking.includes(c.author))),
      15_000,
      explain(survivors),
    );
    t.pass('every survivor receives chatter after the failover');
    // ... and a line typed into a member reaches everyone.
    const sender = survivors.find((s) => s !== newHost)!;
    const text = `typed after failover ${Date.now()}`;
    t.equal(cluster('send', sender, text).code, 0, `send into ${sender}'s stdin`);
    await waitFor(
      'the typed line at every survivor',
      () => survivors.every((s) => output(s, afterFailover.get(s)).chat.some((c) => c.text === text && c.author === idOf.get(sender))),
      15_000,
      explain(survivors),
    );
    t.pass(`"${text}" from ${sender} reached every survivor`);
    host = newHost;
  });

  const killed = services.find((s) => !live().includes(s));
  await t.test('the killed node restarts and rejoins', async (t) => {
    t.ok(killed, 'one node is down');
    const before = offsets();
    t.equal(cluster('restart', killed!).code, 0, `restart ${killed}`);
    await waitFor(`${killed} to rejoin #lobby`, () => output(killed!, before.get(killed!)).events.some((e) => e.event === 'member.joined' && e.channel === CHANNEL), 30_000, explain([killed!]));
    const agreed = await waitFor('all five to agree on one host', () => agreedHost(services), 30_000, explain());
    t.pass(`${killed} is back; ${agreed} hosts #lobby`);
    // Its user joins the private channel again (a restart forgets what was typed).
    t.equal(cluster('send', killed!, `/join ${PRIVATE}`).code, 0, `${killed} joins ${PRIVATE} again`);
    const privateHost = await waitFor(`all five in one ${PRIVATE}`, () => agreedHost(services, PRIVATE), 30_000, explain(services, PRIVATE));
    t.pass(`${privateHost} hosts ${PRIVATE}`);
  });

  await t.test(`partition 2/3, then heal: one host for #lobby and one for ${PRIVATE}`, async (t) => {
    const a = services.slice(0, 2);
    const b = services.slice(2);
    const before = offsets();
    const cut = cluster('partition', a.join(','), b.join(','));
    t.equal(cut.code, 0, `partition ${a.join(',')} | ${b.join(',')}`);
    for (const [side, other] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const s of side) {
        await waitFor(
          `${s} to lose ${other.join(',')}`,
          () => {
            const down = new Set(
              output(s, before.get(s))
                .events.filter((e) => e.event === 'peer.state' && e.state === 'disconnected')
                .map((e) => String(e.peer)),
            );
            return other.every((o) => down.has(idOf.get(o)!));
          },
          20_000,
          explain([s]),
        );
      }
    }
    t.pass('neither side hears the other (multicast and TCP cut)');
    // Each side keeps (or takes over) the private channel too.
    for (const side of [a, b]) {
      await waitFor(`a host of ${PRIVATE} on ${side.join(',')}`, () => agreedHost(side, PRIVATE), 20_000, explain(side, PRIVATE));
    }
    t.pass(`both sides host ${PRIVATE}: a split brain of a private channel`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    t.comment(`during the partition: hosts ${services.filter((s) => hosted(s).has(CHANNEL)).join(',') || 'none'}`);

    const healed = offsets();
    t.equal(cluster('heal').code, 0, 'heal');
    const final = await waitFor('one host of #lobby that all five follow', () => agreedHost(services), 45_000, explain());
    // Still one a moment later: not a transient state.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    t.equal(agreedHost(services), final, `${final} is the one host of #lobby`);
    const resolved = services.flatMap((s) => output(s, healed.get(s)).events.filter((e) => e.event === 'splitbrain.resolved'));
    t.comment(`split brains resolved after the heal: ${resolved.length}`);
    for (const s of services) {
      const view = memberView(s);
      t.equal(view?.host, idOf.get(final), `${s} follows ${final}`);
    }
    // The private channel heals the same way, found through its hidden tag.
    const privateFinal = await waitFor(`one host of ${PRIVATE} that all five follow`, () => agreedHost(services, PRIVATE), 45_000, explain(services, PRIVATE));
    t.pass(`${privateFinal} is the one host of ${PRIVATE}`);
    const privateResolved = services.flatMap((s) => output(s, healed.get(s)).events.filter((e) => e.event === 'splitbrain.resolved' && e.channel === PRIVATE));
    t.ok(privateResolved.length > 0, `the heal resolved ${PRIVATE}'s split brain (${privateResolved.length} yielded)`);
  });

  await t.test("the image's health check, run in each node's namespace as Docker runs it: a frozen node is unhealthy", async (t) => {
    const health = (svc: string) => {
      const row = status().find((r) => r.service === svc)!;
      const env = { ...process.env, ...project.services.find((s) => s.name === svc)!.environment };
      const result = spawnSync('ip', ['netns', 'exec', row.namespace, process.execPath, BIN, 'health'], { encoding: 'utf8', env, timeout: 20_000 });
      return { code: result.status, out: result.stdout.trim() };
    };
    for (const svc of services) t.match(health(svc), { code: 0, out: /^healthy: .*answers \/metrics$/ }, `${svc} is healthy`);
    const member = [...services].reverse().find((s) => !hosted(s).size)!;
    t.equal(cluster('freeze', member).code, 0, `freeze ${member}`);
    t.match(health(member), { code: 1, out: /^unhealthy: the node does not answer \/metrics/ }, `${member}, frozen, is unhealthy (its kernel still accepts on 50000)`);
    t.equal(cluster('thaw', member).code, 0, `thaw ${member}`);
    t.match(health(member), { code: 0, out: /^healthy: / }, `${member}, thawed, is healthy again`);
  });

  await t.test('down leaves no namespace, veth, bridge, process or state behind', async (t) => {
    status();
    const down = cluster('down');
    t.equal(down.code, 0, `down\n${down.out}${down.err}`);
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    t.notMatch(namespaces, new RegExp(`^${PREFIX}`, 'm'), 'no namespace of ours');
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    t.notMatch(links, new RegExp(PREFIX), 'no veth or bridge of ours in the host namespace');
    await waitFor('every node process to be gone', () => [...pidsSeen].every((pid) => procState(pid) === 'dead'), 5000);
    t.pass(`none of the ${pidsSeen.size} node processes is left`);
    t.notOk(fs.existsSync(path.join(stateDir, 'cluster.json')), 'state removed');
    const again = cluster('down');
    t.equal(again.code, 0, 'down again: idempotent');
  });
}
