import { z } from 'zod';
import { who } from '../../platform/http/auth.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import { safeText } from '../../platform/validation.js';
import { CHANNEL_TYPES, ChannelBody, NotifyName, PublicConfigSchema } from './channel-config.js';
import type { PolicyInfo } from './policies-repo.js';
import { TestOutcome, type NotifyService } from './service.js';

export const Channel = z.object({
  id: z.uuid(),
  name: z.string(),
  type: z.enum(CHANNEL_TYPES),
  config: PublicConfigSchema.describe("Settings without secrets: the URL's host only, header names only, `hasPassword`"),
  lastSuccessAt: Timestamp.nullable(),
  lastFailureAt: Timestamp.nullable(),
  lastError: z.string().nullable(),
  createdBy: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const PolicyBody = z.strictObject({
  name: NotifyName,
  steps: z
    .array(
      z.strictObject({
        channels: z
          .array(safeText().min(1, 'expected a channel name'))
          .min(1, 'expected at least one channel')
          .max(20, 'expected at most 20 channels'),
        waitSeconds: z
          .number()
          .int('expected a whole number of seconds')
          .min(0, 'expected 0 or more seconds')
          .max(7 * 86_400, 'expected at most 604800 seconds (7 days)'),
      }),
    )
    .min(1, 'expected at least one step')
    .max(20, 'expected at most 20 steps'),
  repeat: z
    .number()
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(100, 'expected at most 100')
    .default(1)
    .describe('How many times the whole chain runs'),
  unackTimeoutSeconds: z
    .number()
    .int('expected a whole number of seconds')
    .min(1, 'expected at least 1 second')
    .max(30 * 86_400)
    .optional()
    .describe('An alert acknowledged but not resolved this long goes back to firing and the chain runs again'),
  default: z
    .boolean()
    .optional()
    .describe('The policy of rules that name none (at most one; setting it takes it from the previous default)'),
});

export const Policy = z.object({
  id: z.uuid(),
  name: z.string(),
  steps: z.array(z.object({ channels: z.array(z.string()), waitSeconds: z.number() })),
  repeat: z.number(),
  unackTimeoutSeconds: z.number().nullable(),
  default: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const showPolicy = ({ isDefault, ...p }: PolicyInfo) => ({ ...p, default: isDefault });

export function notifyRoutes(service: NotifyService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/notification-channels',
      summary: 'List notification channels (never their secrets)',
      role: 'admin',
      status: 200,
      response: z.object({ channels: z.array(Channel) }),
      handler: async () => ({ channels: await service.listChannels() }),
    }),
    route({
      method: 'post',
      path: '/api/v1/notification-channels',
      summary: 'Create a notification channel: webhook, slack, dingtalk, wecom or email; URLs, header values and passwords are sealed',
      role: 'admin',
      body: ChannelBody,
      status: 201,
      response: Channel,
      handler: ({ req, body }) => service.createChannel(body, who(req)),
    }),
    route({
      method: 'get',
      path: '/api/v1/notification-channels/:channel',
      summary: 'Show a notification channel by id or name, with its last delivery error',
      role: 'admin',
      status: 200,
      response: Channel,
      handler: ({ params }) => service.findChannel(params.channel!),
    }),
    route({
      method: 'put',
      path: '/api/v1/notification-channels/:channel',
      summary: 'Replace a notification channel (secrets included: send them again)',
      role: 'admin',
      body: ChannelBody,
      status: 200,
      response: Channel,
      handler: ({ req, body, params }) => service.replaceChannel(params.channel!, body, who(req)),
    }),
    route({
      method: 'delete',
      path: '/api/v1/notification-channels/:channel',
      summary: 'Delete a notification channel no escalation policy names',
      role: 'admin',
      status: 204,
      handler: ({ req, params }) => service.deleteChannel(params.channel!, who(req)),
    }),
    route({
      method: 'post',
      path: '/api/v1/notification-channels/:channel/test',
      summary: 'Send a test message through the channel now and answer with the outcome',
      role: 'admin',
      status: 200,
      response: TestOutcome,
      handler: ({ params }) => service.testChannel(params.channel!),
    }),
    route({
      method: 'get',
      path: '/api/v1/escalation-policies',
      summary: 'List escalation policies',
      status: 200,
      response: z.object({ policies: z.array(Policy) }),
      handler: async () => ({ policies: (await service.listPolicies()).map(showPolicy) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/escalation-policies',
      summary: 'Create an escalation policy: steps of channels and waits, repeated; unknown channel names are refused (422)',
      role: 'admin',
      body: PolicyBody,
      status: 201,
      response: Policy,
      handler: async ({ req, body }) => showPolicy(await service.createPolicy(body, who(req))),
    }),
    route({
      method: 'get',
      path: '/api/v1/escalation-policies/:policy',
      summary: 'Show an escalation policy by id or name',
      status: 200,
      response: Policy,
      handler: async ({ params }) => showPolicy(await service.findPolicy(params.policy!)),
    }),
    route({
      method: 'put',
      path: '/api/v1/escalation-policies/:policy',
      summary: 'Replace an escalation policy; running chains use it from their next step',
      role: 'admin',
      body: PolicyBody,
      status: 200,
      response: Policy,
      handler: async ({ req, body, params }) => showPolicy(await service.replacePolicy(params.policy!, body, who(req))),
    }),
    route({
      method: 'delete',
      path: '/api/v1/escalation-policies/:policy',
      summary: 'Delete an escalation policy; its rules fall back to the default policy',
      role: 'admin',
      status: 204,
      handler: ({ req, params }) => service.deletePolicy(params.policy!, who(req)),
    }),
  ];
}
