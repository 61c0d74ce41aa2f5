import { Command, CommanderError } from 'commander';
import { registerAlerts } from './commands/alerts.js';
import { registerChannels } from './commands/channels.js';
import { registerClusters } from './commands/clusters.js';
import { registerCompletion } from './commands/completion.js';
import { registerCredentials } from './commands/credentials.js';
import { registerDefs } from './commands/defs.js';
import { registerHosts } from './commands/hosts.js';
import { registerLogin } from './commands/login.js';
import { registerOps } from './commands/ops.js';
import { registerPolicies } from './commands/policies.js';
import { registerRules } from './commands/rules.js';
import { registerSchedules } from './commands/schedules.js';
import { registerServer } from './commands/server.js';
import { registerServices } from './commands/services.js';
import { registerSilences } from './commands/silences.js';
import { CliError, EXIT } from './output.js';

export function buildProgram(): Command {
  const program = new Command('sophon')
    .description('Sophon: deploy, operate and heal big-data clusters over SSH')
    .option('--url <url>', 'Sophon API (default: SOPHON_URL, sophon login, http://127.0.0.1:8686)')
    .option('--token <token>', 'API token (default: SOPHON_TOKEN, sophon login, ./.sophon/admin-token)')
    .option('--json', 'print JSON answers instead of tables (for scripts)')
    .showHelpAfterError()
    // Commander's errors become exit code 2 in main(), not its own exit(1).
    .exitOverride();
  registerServer(program);
  registerLogin(program);
  registerClusters(program);
  registerHosts(program);
  registerCredentials(program);
  registerDefs(program);
  registerServices(program);
  registerOps(program);
  registerSchedules(program);
  registerChannels(program);
  registerPolicies(program);
  registerRules(program);
  registerAlerts(program);
  registerSilences(program);
  registerCompletion(program);
  return program;
}

/** Runs the CLI; every failure ends as one line and an exit code (README.md: CLI), never a stack trace. */
export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`sophon ops show ID | head -1`) closes the pipe: nobody reads
  // what is left, so the CLI ends quietly instead of dying on EPIPE with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.OK);
      throw err;
    });
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message already; --help and --version end with 0.
      process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
    }
    if (err instanceof CliError) {
      process.stderr.write(`sophon: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    const { SophonError } = await import('../platform/errors.js');
    if (err instanceof SophonError) {
      process.stderr.write(`sophon: ${err.message}\n`);
      process.exit(err.code === 'CONFIG_INVALID' ? EXIT.USAGE : EXIT.FAILED);
    }
    throw err;
  }
}

await main(process.argv);
