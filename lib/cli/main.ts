// The `chanmesh` command: one entry, a subcommand per use. Subcommand modules
// are imported lazily so `chanmesh node` does not load the simulator.
import { Command } from 'commander';
import type { Endpoint } from '../net/transport.ts';
import { addNodeCommand, IMAGE_METRICS_PORT } from './node-command.ts';
import { envOption, parseInteger, parseListen, usageExitCode } from './options.ts';

const program = new Command('chanmesh')
  .description('A fault-tolerant chat-channel cluster speaking the KIT Instant Messenger protocol')
  .showHelpAfterError()
  // A command line that does not parse exits 2 (usageExitCode), as every subcommand does.
  .exitOverride((error) => process.exit(usageExitCode(error)));

addNodeCommand(program);

program
  .command('health')
  .description("exit 0 when the node here serves: its TCP port accepts connections and, if it serves metrics, it answers them (Docker HEALTHCHECK)")
  .option('--host <address>', 'address of the channel port to probe', '127.0.0.1')
  .addOption(envOption('--port <n>', 'TCP port of the node').default(50000).argParser(parseInteger(1, 65535)))
  .addOption(envOption('--metrics <[addr:]port>', "the node's --metrics; nothing listening there: the connect probe alone").default(parseListen(String(IMAGE_METRICS_PORT)), String(IMAGE_METRICS_PORT)).argParser(parseListen))
  .action(async (options: { host: string; port: number; metrics: Endpoint }) => {
    const { checkHealth } = await import('./health.ts');
    const verdict = await checkHealth({ address: options.host, port: options.port }, options.metrics);
    process.stdout.write(`${verdict.healthy ? 'healthy' : 'unhealthy'}: ${verdict.reason}\n`);
    process.exitCode = verdict.healthy ? 0 : 1;
  });

/**
 * A subcommand that parses its own arguments in a module loaded only when
 * it runs (so `chanmesh node` does not load the simulator).
 */
function delegate(name: string, description: string, run: () => Promise<(args: string[]) => Promise<number>>): void {
  program
    .command(name)
    .description(description)
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      process.exitCode = await (await run())(args);
    });
}

delegate('sim', 'run the deterministic cluster simulator (see `chanmesh sim --help`)', async () => (await import('./sim-command.ts')).runSimCommand);
delegate('cluster', 'a cluster in Linux network namespaces, from docker-compose.yml (root)', async () => (await import('./cluster.ts')).runClusterCommand);
delegate('local', 'start a small local cluster with a live view (npm start)', async () => (await import('./local.ts')).runLocalCommand);

await program.parseAsync(process.argv);
