/**
 * What a notification channel is made of: the request schema per type, the split into what is
 * stored in the clear (`config`) and what is sealed (`secrets`), and what the API shows.
 * Every channel URL counts as secret (Slack, DingTalk and WeCom put their tokens in it).
 */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';

export const CHANNEL_TYPES = ['webhook', 'slack', 'dingtalk', 'wecom', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2000, 'expected at most 2000 characters');
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'expected an HTTP header name');
/**
 * zod's email pattern with RFC 5321's limits, which the OpenAPI document's `format: email`
 * implies: at most 64 characters before the @, domain labels of 1-63 (no hyphen at either end).
 */
const EMAIL =
  /^(?=[^@]{1,64}@)(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const email = z
  .email({ pattern: EMAIL, error: 'expected an email address (at most 64 characters before the @)' })
  .max(254, 'expected at most 254 characters');
/** An RFC 1123 host name whose last label is not all digits (so `0` or `1.2.3` is no host name). */
const HOSTNAME =
  /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const UrlConfig = z.strictObject({ url: httpUrl });
const WebhookConfig = z.strictObject({
  url: httpUrl,
  headers: z
    .record(headerName, safeText().max(4000, 'expected at most 4000 characters'))
    .optional()
    .describe('Sent with every request; values (an Authorization header, say) are sealed and never shown'),
});
const EmailConfig = z.strictObject({
  host: z.union([z.ipv4(), z.ipv6(), z.string().regex(HOSTNAME)], { error: 'expected an SMTP server host name (RFC 1123) or IP address' }),
  port: z.number().int('expected a whole number').min(1).max(65535, 'expected a port between 1 and 65535'),
  secure: z.boolean().optional().describe('TLS from the start (port 465); otherwise STARTTLS when the server offers it'),
  username: safeText().min(1).max(320).optional(),
  password: z.string().min(1).max(1000).optional().describe('Sealed at rest, never shown'),
  from: email,
  to: z.array(email).min(1, 'expected at least one recipient').max(100, 'expected at most 100 recipients'),
});

/** The name of a channel or of an escalation policy. */
export const NotifyName = safeText().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters');

export const ChannelBody = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ name: NotifyName, type: z.literal('webhook'), config: WebhookConfig }),
    z.strictObject({ name: NotifyName, type: z.literal('slack'), config: UrlConfig }),
    z.strictObject({ name: NotifyName, type: z.literal('dingtalk'), config: UrlConfig }),
    z.strictObject({ name: NotifyName, type: z.literal('wecom'), config: UrlConfig }),
    z.strictObject({ name: NotifyName, type: z.literal('email'), config: EmailConfig }),
  ],
  { error: `expected type to be one of ${CHANNEL_TYPES.join(', ')}` },
);
export type ChannelInput = z.output<typeof ChannelBody>;

/** Sealed as one JSON object. */
export interface ChannelSecrets {
  url?: string;
  headers?: Record<string, string>;
  password?: string;
}

/** Stored in the clear and shown by the API. */
export type PublicConfig =
  | { urlHost: string; headerNames?: string[] }
  | { host: string; port: number; secure: boolean; username?: string; hasPassword: boolean; from: string; to: string[] };

export function splitChannelConfig(input: ChannelInput): { config: PublicConfig; secrets: ChannelSecrets } {
  if (input.type === 'email') {
    const { password, ...rest } = input.config;
    return {
      config: { ...rest, secure: rest.secure ?? false, hasPassword: password !== undefined },
      secrets: password === undefined ? {} : { password },
    };
  }
  const { url } = input.config;
  const headers = input.type === 'webhook' ? input.config.headers : undefined;
  return {
    config: { urlHost: new URL(url).host, ...(headers ? { headerNames: Object.keys(headers) } : {}) },
    secrets: { url, ...(headers ? { headers } : {}) },
  };
}

/** The schema of `config` in API answers: no URL, header value or password. */
export const PublicConfigSchema = z.union([
  z.object({ urlHost: z.string(), headerNames: z.array(z.string()).optional() }),
  z.object({
    host: z.string(),
    port: z.number(),
    secure: z.boolean(),
    username: z.string().optional(),
    hasPassword: z.boolean(),
    from: z.string(),
    to: z.array(z.string()),
  }),
]);
