/**
 * Notification channels and escalation policies: the rules behind their routes. Channel
 * secrets are sealed here and never leave; policies name channels that must exist.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Who } from '../../platform/http/auth.js';
import { inTransaction } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { conflict, notFound, SophonError } from '../../platform/errors.js';
import type { ChannelInput } from './channel-config.js';
import { splitChannelConfig } from './channel-config.js';
import { channelsRepo, type ChannelInfo } from './channels-repo.js';
import { notifierFrom, type SharedNotifyDeps } from './notifier.js';
import { policiesRepo, type PolicyInfo, type PolicyStep } from './policies-repo.js';

export interface PolicyInput {
  name: string;
  steps: PolicyStep[];
  repeat: number;
  unackTimeoutSeconds?: number | undefined;
  default?: boolean | undefined;
}

/** What a channel test answers. */
export const TestOutcome = z.object({
  channel: z.string(),
  status: z.enum(['sent', 'failed']),
  attempts: z.number(),
  error: z.string().optional(),
});
export type TestOutcome = z.infer<typeof TestOutcome>;

/** A channel test answers within one attempt's timeout: the operator is waiting. */
const TEST_DELIVERY = { attempts: 1, backoffMs: 0, timeoutMs: 10_000 };

export type NotifyService = ReturnType<typeof createNotifyService>;

export function createNotifyService(deps: SharedNotifyDeps) {
  const { pool, secretBox } = deps;
  const channels = channelsRepo(pool);
  const policies = policiesRepo(pool);
  const notifier = notifierFrom(deps, TEST_DELIVERY);

  const audit = (who: Who, action: string, target: string) =>
    auditRepo(pool).record({ actor: who.actor, action, target, requestId: who.requestId });

  const sealed = (input: ChannelInput) => {
    const { config: shown, secrets } = splitChannelConfig(input);
    return {
      name: input.name,
      type: input.type,
      config: shown,
      sealedSecrets: Object.keys(secrets).length ? secretBox.seal(JSON.stringify(secrets)) : null,
    };
  };

  async function findChannel(idOrName: string): Promise<ChannelInfo> {
    const found = await channels.find(idOrName);
    if (!found) throw notFound('Notification channel', idOrName);
    return found;
  }

  async function findPolicy(idOrName: string): Promise<PolicyInfo> {
    const found = await policies.find(idOrName);
    if (!found) throw notFound('Escalation policy', idOrName);
    return found;
  }

  /** Every channel a policy names must exist: 422 naming each unknown one by its field path. */
  async function checkChannels(steps: PolicyStep[]): Promise<void> {
    const known = await channels.names(steps.flatMap((s) => s.channels));
    const errors = steps.flatMap((s, i) =>
      s.channels.flatMap((name, j) =>
        known.has(name) ? [] : [{ path: `steps.${i}.channels.${j}`, message: `no notification channel '${name}'` }],
      ),
    );
    if (errors.length) {
      throw new SophonError(
        'UNKNOWN_REFERENCE',
        `Invalid request body: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        errors,
      );
    }
  }

  async function savePolicy(id: string, input: PolicyInput, existing: boolean): Promise<PolicyInfo> {
    await checkChannels(input.steps);
    const write = {
      id,
      name: input.name,
      steps: input.steps.map((s) => ({ channels: s.channels, waitSeconds: s.waitSeconds })),
      repeat: input.repeat,
      unackTimeoutSeconds: input.unackTimeoutSeconds ?? null,
      isDefault: input.default ?? false,
    };
    return inTransaction(pool, async (tx) => {
      const repo = policiesRepo(tx);
      if (write.isDefault) await repo.clearDefault(id);
      const saved = existing ? await repo.replace(write) : await repo.insert(write);
      if (!saved)
        throw existing ? notFound('Escalation policy', id) : conflict(`An escalation policy named '${input.name}' already exists`);
      return saved;
    });
  }

  return {
    listChannels: () => channels.list(),
    findChannel,

    async createChannel(input: ChannelInput, who: Who): Promise<ChannelInfo> {
      const created = await channels.insert({ id: randomUUID(), ...sealed(input), createdBy: who.actor });
      if (!created) throw conflict(`A notification channel named '${input.name}' already exists`);
      await audit(who, 'notification-channel.create', created.name);
      return created;
    },

    /** Replaces the whole channel (secrets included); a channel named by policies keeps its name. */
    async replaceChannel(idOrName: string, input: ChannelInput, who: Who): Promise<ChannelInfo> {
      const current = await findChannel(idOrName);
      if (input.name !== current.name) {
        const users = await policies.usingChannel(current.name);
        if (users.length)
          throw conflict(`Channel '${current.name}' is named by escalation policies ${users.join(', ')}; change them before renaming it`);
        if (await channels.find(input.name)) throw conflict(`A notification channel named '${input.name}' already exists`);
      }
      const saved = await channels.replace({ id: current.id, ...sealed(input) });
      if (!saved) throw notFound('Notification channel', idOrName);
      await audit(who, 'notification-channel.update', saved.name);
      return saved;
    },

    async deleteChannel(idOrName: string, who: Who): Promise<void> {
      const current = await findChannel(idOrName);
      const users = await policies.usingChannel(current.name);
      if (users.length)
        throw conflict(`Channel '${current.name}' is named by escalation policies ${users.join(', ')}; remove it from them first`);
      await channels.delete(current.id);
      await audit(who, 'notification-channel.delete', current.name);
    },

    /** Sends a test message now (recorded with kind 'test') and answers with the outcome. */
    async testChannel(idOrName: string): Promise<TestOutcome> {
      const row = await channels.findSealed(idOrName);
      if (!row) throw notFound('Notification channel', idOrName);
      const outcome = await notifier.sendTo(row, { kind: 'test' });
      return {
        channel: row.name,
        status: outcome.ok ? 'sent' : 'failed',
        attempts: outcome.attempts,
        ...(outcome.error ? { error: outcome.error } : {}),
      };
    },

    listPolicies: () => policies.list(),
    findPolicy,
    async createPolicy(input: PolicyInput, who: Who): Promise<PolicyInfo> {
      const created = await savePolicy(randomUUID(), input, false);
      await audit(who, 'escalation-policy.create', created.name);
      return created;
    },

    async replacePolicy(idOrName: string, input: PolicyInput, who: Who): Promise<PolicyInfo> {
      const current = await findPolicy(idOrName);
      if (input.name !== current.name && (await policies.find(input.name)))
        throw conflict(`An escalation policy named '${input.name}' already exists`);
      const saved = await savePolicy(current.id, input, true);
      await audit(who, 'escalation-policy.update', saved.name);
      return saved;
    },

    async deletePolicy(idOrName: string, who: Who): Promise<void> {
      const current = await findPolicy(idOrName);
      await policies.delete(current.id);
      await audit(who, 'escalation-policy.delete', current.name);
    },
  };
}
