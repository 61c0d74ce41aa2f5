/** sophon credentials add|list */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Credential as CredentialView } from '../../features/credentials/routes.js';
import { ctxOf } from '../context.js';
import { ago, printFields, printTable, show } from '../output.js';
import { readTextFile } from './values.js';

type Credential = z.infer<typeof CredentialView>;

export function registerCredentials(program: Command): void {
  const credentials = program.command('credentials').description('SSH credentials (stored encrypted; keys are never shown)');

  credentials
    .command('add')
    .description('store an SSH private key from a file')
    .argument('<name>', 'name hosts refer to')
    .requiredOption('--key-file <path>', 'OpenSSH or PEM private key')
    .requiredOption('--username <user>', 'Unix user to log in as')
    .option('--passphrase-file <path>', 'file holding the passphrase of an encrypted key')
    .action(async (name: string, opts: { keyFile: string; username: string; passphraseFile?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const privateKey = await readTextFile(opts.keyFile, '--key-file');
      const passphrase = opts.passphraseFile
        ? (await readTextFile(opts.passphraseFile, '--passphrase-file')).replace(/\r?\n$/, '')
        : undefined;
      const c = await ctx.client.post<Credential>('/api/v1/credentials', {
        name,
        username: opts.username,
        privateKey,
        ...(passphrase ? { passphrase } : {}),
      });
      show(ctx.json, c, () =>
        printFields([
          ['name', c.name],
          ['username', c.username],
          ['key', `${c.keyType} ${c.publicKeyFingerprint}`],
        ]),
      );
    });

  credentials
    .command('list')
    .description('list SSH credentials')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ credentials: Credential[] }>('/api/v1/credentials');
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'username', 'key type', 'fingerprint', 'created by', 'created'],
          answer.credentials.map((c) => [c.name, c.username, c.keyType, c.publicKeyFingerprint, c.createdBy, ago(c.createdAt)]),
          'no credentials',
        ),
      );
    });
}
