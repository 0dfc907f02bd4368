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

program
  .command('sim')
  .description('run the deterministic cluster simulator (see `chanmesh sim --help`)')
  .allowUnknownOption(true)
  .helpOption(false)
  .argument('[args...]')
  .action(async (args: string[]) => {
    const { runSimCommand } = await import('./sim-command.ts');
    process.exitCode = await runSimCommand(args);
  });

program
  .command('cluster')
  .description('a cluster in Linux network namespaces, from docker-compose.yml (root)')
  .allowUnknownOption(true)
  .helpOption(false)
  .argument('[args...]')
  .action(async (args: string[]) => {
    const { runClusterCommand } = await import('./cluster.ts');
    process.exitCode = await runClusterCommand(args);
  });

program
  .command('local')
  .description('start a small local cluster with a live view (npm start)')
  .allowUnknownOption(true)
  .helpOption(false)
  .argument('[args...]')
  .action(async (args: string[]) => {
    const { runLocalCommand } = await import('./local.ts');
    process.exitCode = await runLocalCommand(args);
  });

await program.parseAsync(process.argv);
