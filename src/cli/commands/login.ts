/** sophon login: checks a URL and token against the API, then keeps them in the config file. */
import type { Command } from 'commander';
import { ApiClient, configPath, resolveTarget, writeConfigFile } from '../api-client.js';
import { printJson, usage } from '../output.js';

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description(
      `check --url and --token against the API and save them (${configPath().replace(process.env.HOME ?? '\0', '~')}, mode 0600)`,
    )
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ url?: string; token?: string; json?: boolean }>();
      const target = resolveTarget(opts);
      if (!target.token) throw usage('login: pass --token (or set SOPHON_TOKEN)');
      // Any authenticated read proves the token; clusters are readable by every role.
      await new ApiClient(target).get('/api/v1/clusters');
      const file = await writeConfigFile({ url: target.url, token: target.token });
      if (opts.json) printJson({ url: target.url, configFile: file });
      else process.stdout.write(`logged in to ${target.url}; saved in ${file}\n`);
    });
}
