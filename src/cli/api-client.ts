/**
 * The CLI's one way to talk to the Sophon API: where it is and which token to send (flags,
 * environment, `sophon login`'s config file, a local `npm start`'s admin token), and what its
 * answers mean for the exit code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Zod from 'zod';
import { CliError, EXIT } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:8686';

export interface Target {
  url: string;
  token: string | undefined;
}

// zod takes longer to load than the rest of the CLI: it is loaded when there is a config file to check.
const require = createRequire(import.meta.url);
const configFileSchema = () => {
  const { z } = require('zod') as typeof Zod;
  return z.object({ url: z.url().optional(), token: z.string().min(1).optional() });
};

/** `$XDG_CONFIG_HOME/sophon/config.json`, else `~/.config/sophon/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'sophon', 'config.json');
}

function readConfigFile(file: string): Zod.infer<ReturnType<typeof configFileSchema>> {
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(EXIT.USAGE, `${file} is not valid JSON (${(err as Error).message}); run 'sophon login' again`);
  }
  const parsed = configFileSchema().safeParse(raw);
  if (!parsed.success) {
    throw new CliError(
      EXIT.USAGE,
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Flags first, then SOPHON_URL / SOPHON_TOKEN, then the config file; with none of them, the
 * token a local `npm start` wrote (`$SOPHON_HOME/admin-token`, default ./.sophon) and the
 * default URL.
 */
export function resolveTarget(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Target {
  const file = readConfigFile(configPath(env));
  const url = flags.url ?? env.SOPHON_URL ?? file.url ?? DEFAULT_URL;
  let token = flags.token ?? env.SOPHON_TOKEN ?? file.token;
  if (!token) {
    const local = path.resolve(cwd, env.SOPHON_HOME ?? '.sophon', 'admin-token');
    if (existsSync(local)) token = readFileSync(local, 'utf8').trim();
  }
  try {
    const parsed = new URL(url);
    if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http(s)');
  } catch {
    throw new CliError(EXIT.USAGE, `--url / SOPHON_URL: expected an http(s) URL of the Sophon API, got ${JSON.stringify(url)}`);
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/** Writes the config file `sophon login` keeps, readable by its owner only. */
export async function writeConfigFile(target: { url: string; token: string }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = configPath(env);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify({ url: target.url, token: target.token }, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600); // also when the file existed with looser bits
  return file;
}

export interface Problem {
  status: number;
  code?: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

function exitCodeOf(status: number): number {
  if (status === 400 || status === 422) return EXIT.USAGE;
  if (status === 503) return EXIT.UNREACHABLE;
  return EXIT.FAILED;
}

/** An API answer outside 2xx, printed as its detail and field paths. */
export function formatProblem(p: Problem): string {
  const head = p.detail ?? `the API answered ${p.status}`;
  const lines = (p.errors ?? []).map((e) => `  ${e.path}: ${e.message}`);
  return [`${head}${p.code ? ` (${p.status} ${p.code})` : ''}`, ...lines].join('\n');
}

export class ApiClient {
  constructor(readonly target: Target) {}

  async request<T = unknown>(
    method: string,
    p: string,
    body?: unknown,
    opts: { query?: Record<string, string | number | undefined> } = {},
  ): Promise<T> {
    const url = new URL(this.target.url + p);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(
        EXIT.UNREACHABLE,
        `cannot reach the Sophon API at ${this.target.url} (${why}); is it running? (--url, SOPHON_URL or 'sophon login')`,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!res.ok) {
      const problem = (parsed && typeof parsed === 'object' ? parsed : {}) as Partial<Problem>;
      if (res.status === 401 && !this.target.token) {
        throw new CliError(
          EXIT.FAILED,
          `the API needs a token: pass --token, set SOPHON_TOKEN or run 'sophon login' (${problem.detail ?? 'unauthenticated'})`,
        );
      }
      throw new CliError(exitCodeOf(res.status), formatProblem({ ...problem, status: res.status }));
    }
    return parsed as T;
  }

  get = <T = unknown>(p: string, query?: Record<string, string | number | undefined>) => this.request<T>('GET', p, undefined, { query });
  post = <T = unknown>(p: string, body?: unknown) => this.request<T>('POST', p, body ?? {});
  put = <T = unknown>(p: string, body: unknown) => this.request<T>('PUT', p, body);
  patch = <T = unknown>(p: string, body: unknown) => this.request<T>('PATCH', p, body);
  delete = <T = unknown>(p: string) => this.request<T>('DELETE', p);
}

/** A path segment, escaped. */
export const seg = (s: string) => encodeURIComponent(s);
