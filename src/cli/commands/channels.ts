/** sophon channels list|show|add|test|remove: notification channels (their URLs, header values and passwords are never shown). */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Channel as ChannelView } from '../../features/notify/routes.js';
import { seg } from '../api-client.js';
import { collect, ctxOf, list, removeCommand, wholeNumber } from '../context.js';
import { ago, CliError, EXIT, printFields, printJson, printTable, show, usage } from '../output.js';
import { jsonObject, keyValues } from './values.js';

type Channel = z.infer<typeof ChannelView>;

const BASE = '/api/v1/notification-channels';
const target = ({ config }: Channel) => ('urlHost' in config ? config.urlHost : `${config.host}:${config.port} → ${config.to.join(', ')}`);

interface AddOpts {
  type: string;
  configJson?: string;
  hookUrl?: string;
  header: string[];
  smtpHost?: string;
  smtpPort?: number;
  secure?: boolean;
  username?: string;
  password?: string;
  from?: string;
  to?: string[];
}

/** The create body: --config-json as given, else the config built from the type's flags (the API checks it, naming config.<field>). */
export function channelBody(name: string, o: AddOpts): Record<string, unknown> {
  if (o.configJson !== undefined) return { name, type: o.type, config: jsonObject(o.configJson, '--config-json') };
  if (o.type === 'email') {
    return {
      name,
      type: o.type,
      config: {
        host: o.smtpHost,
        port: o.smtpPort ?? 25,
        ...(o.secure ? { secure: true } : {}),
        ...(o.username ? { username: o.username } : {}),
        ...(o.password ? { password: o.password } : {}),
        from: o.from,
        to: o.to ?? [],
      },
    };
  }
  if (o.header.length && o.type !== 'webhook') throw usage('--header goes with --type webhook');
  return { name, type: o.type, config: { url: o.hookUrl, ...(o.header.length ? { headers: keyValues(o.header, '--header') } : {}) } };
}

export function registerChannels(program: Command): void {
  const channels = program.command('channels').description('notification channels: webhook, slack, dingtalk, wecom, email');

  channels
    .command('list')
    .description('channels with their last delivery outcome')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ channels: Channel[] }>(BASE);
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'type', 'target', 'last success', 'last failure', 'last error'],
          answer.channels.map((c) => [c.name, c.type, target(c), ago(c.lastSuccessAt), ago(c.lastFailureAt), c.lastError]),
          'no channels',
        ),
      );
    });

  channels
    .command('show')
    .description('a channel (by name or id)')
    .argument('<channel>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const c = await ctx.client.get<Channel>(`${BASE}/${seg(id)}`);
      show(ctx.json, c, () =>
        printFields([
          ['name', c.name],
          ['id', c.id],
          ['type', c.type],
          ['target', target(c)],
          ['config', JSON.stringify(c.config)],
          ['last success', ago(c.lastSuccessAt)],
          ['last failure', ago(c.lastFailureAt)],
          ['last error', c.lastError],
          ['created by', c.createdBy],
        ]),
      );
    });

  channels
    .command('add')
    .description('add a channel; its URL, header values and password are stored sealed')
    .argument('<name>')
    .requiredOption('--type <type>', 'webhook, slack, dingtalk, wecom or email')
    .option('--config-json <json>', 'the whole config object instead of the flags below')
    // Not --url: that global option names the Sophon API, and the token would go to the channel.
    .option('--hook-url <url>', 'the URL to post to (webhook, slack, dingtalk, wecom)')
    .option('--header <name=value>', 'a header sent with every webhook request (repeatable)', collect, [])
    .option('--smtp-host <host>', 'email: the SMTP server')
    .option('--smtp-port <port>', 'email: its port (default 25)', wholeNumber('--smtp-port'))
    .option('--secure', 'email: TLS from the start (port 465)')
    .option('--username <user>', 'email: SMTP user')
    .option('--password <password>', 'email: SMTP password')
    .option('--from <address>', 'email: the sender')
    .option('--to <addresses>', 'email: recipients (comma-separated)', list)
    .action(async (name: string, opts: AddOpts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const c = await ctx.client.post<Channel>(BASE, channelBody(name, opts));
      show(ctx.json, c, () => process.stdout.write(`channel ${c.name} (${c.type}) added; try it: sophon channels test ${c.name}\n`));
    });

  channels
    .command('test')
    .description('send a test message through a channel now (exit 1 when it fails)')
    .argument('<channel>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const outcome = await ctx.client.post<{ channel: string; status: string; attempts: number; error?: string }>(
        `${BASE}/${seg(id)}/test`,
      );
      if (ctx.json) printJson(outcome);
      if (outcome.status !== 'sent') {
        if (ctx.json) process.exitCode = EXIT.FAILED;
        else
          throw new CliError(
            EXIT.FAILED,
            `${outcome.channel}: test message failed after ${outcome.attempts} attempt(s): ${outcome.error ?? 'unknown error'}`,
          );
      } else if (!ctx.json) process.stdout.write(`${outcome.channel}: test message sent (${outcome.attempts} attempt(s))\n`);
    });

  removeCommand(channels, {
    argument: '<channel>',
    description: 'remove a channel no escalation policy names',
    path: (_ctx, id) => `${BASE}/${seg(id)}`,
  });
}
