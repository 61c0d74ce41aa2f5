/**
 * Sending one notice to one channel, with bounded retries and backoff. Error messages name
 * the channel's host and what went wrong, never its URL (tokens live in URLs) or a secret.
 */
import nodemailer from 'nodemailer';
import type { ChannelType, PublicConfig } from './channel-config.js';
import type { ChannelSecrets } from './channel-config.js';
import { dingtalkBody, emailMessage, slackBody, webhookBody, wecomBody, type Notice } from './formats.js';

export interface OpenChannel {
  name: string;
  type: ChannelType;
  config: PublicConfig;
  secrets: ChannelSecrets;
}

export interface DeliveryPolicy {
  attempts: number;
  /** Backoff before attempt n+1 is `backoffMs * 2^(n-1)`. */
  backoffMs: number;
  timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { attempts: 3, backoffMs: 1000, timeoutMs: 10_000 };

export interface DeliveryOutcome {
  ok: boolean;
  attempts: number;
  error?: string;
}

const BODY: Record<Exclude<ChannelType, 'email'>, (n: Notice) => unknown> = {
  webhook: webhookBody,
  slack: slackBody,
  dingtalk: dingtalkBody,
  wecom: wecomBody,
};

const describe = (err: unknown): string => {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  if (e?.cause?.code) return `cannot connect (${e.cause.code})`;
  return e?.message ?? String(err);
};

async function postJson(ch: OpenChannel, body: unknown, timeoutMs: number): Promise<void> {
  const url = ch.secrets.url;
  if (!url) throw new Error('the channel has no URL stored');
  const host = new URL(url).host;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(ch.secrets.headers ?? {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    throw new Error(`POST to ${host} failed: ${describe(err)}`);
  }
  const text = (await res.text().catch(() => '')).slice(0, 300);
  if (!res.ok) throw new Error(`POST to ${host} answered HTTP ${res.status}${text ? `: ${text.replaceAll(url, '<url>')}` : ''}`);
  // DingTalk and WeCom answer 200 with a non-zero errcode when they refuse a message.
  if (ch.type === 'dingtalk' || ch.type === 'wecom') {
    let answer: { errcode?: number; errmsg?: string } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      // Not JSON: the status said it was accepted.
    }
    if (answer.errcode) throw new Error(`${host} refused the message: errcode ${answer.errcode} ${answer.errmsg ?? ''}`.trim());
  }
}

async function sendMail(ch: OpenChannel, notice: Notice, timeoutMs: number): Promise<void> {
  const c = ch.config as Extract<PublicConfig, { host: string }>;
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port,
    secure: c.secure,
    ...(c.username ? { auth: { user: c.username, pass: ch.secrets.password ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({ from: c.from, to: c.to, ...emailMessage(notice) });
  } catch (err) {
    throw new Error(`mail to ${c.host}:${c.port} failed: ${describe(err)}`);
  } finally {
    transport.close();
  }
}

export async function sendOnce(ch: OpenChannel, notice: Notice, timeoutMs: number): Promise<void> {
  if (ch.type === 'email') await sendMail(ch, notice, timeoutMs);
  else await postJson(ch, BODY[ch.type](notice), timeoutMs);
}

/** Tries up to `attempts` times with exponential backoff; never throws. */
export async function deliver(ch: OpenChannel, notice: Notice, policy: DeliveryPolicy = DEFAULT_DELIVERY): Promise<DeliveryOutcome> {
  let error = '';
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      await sendOnce(ch, notice, policy.timeoutMs);
      return { ok: true, attempts: attempt };
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
      if (attempt < policy.attempts) await new Promise((r) => setTimeout(r, policy.backoffMs * 2 ** (attempt - 1)));
    }
  }
  return { ok: false, attempts: policy.attempts, error };
}
