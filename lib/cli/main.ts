// The `chanmesh` command: one entry, a subcommand per use. Subcommand modules
// are imported lazily so `chanmesh node` does not load the simulator.
import { Command } from 'commander';
import { addNodeCommand } from './node-command.ts';

const program = new Command('chanmesh')
  .description('A fault-tolerant chat-channel cluster speaking the KIT Instant Messenger protocol')
  .showHelpAfterError();

addNodeCommand(program);

program
  .command('health')
  .description("exit 0 when a node's TCP port accepts connections (Docker HEALTHCHECK)")
  .option('--host <address>', 'address to probe', '127.0.0.1')
  .option('--port <n>', 'TCP port of the node', process.env.CHANMESH_PORT ?? '50000')
  .action(async (options: { host: string; port: string }) => {
    const { probe } = await import('./health.ts');
    process.exitCode = (await probe(options.host, Number(options.port))) ? 0 : 1;
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
