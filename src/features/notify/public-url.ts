import type { Config } from '../../platform/settings.js';

/** Where people reach the API (links in notifications): SOPHON_PUBLIC_URL, else the API's own address. */
export function publicUrlOf(config: Pick<Config, 'api'>): string {
  const { host, port, publicUrl } = config.api;
  return (publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/$/, '');
}
