import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../settings.js';
import { SophonError } from '../errors.js';
import { parseMasterKey } from './secret-box.js';

/**
 * Finds the master key: SOPHON_MASTER_KEY, then SOPHON_MASTER_KEY_FILE, then (embedded mode
 * only) `$SOPHON_HOME/master.key`, generated on first start with mode 0600.
 */
export async function loadMasterKey(config: Config, opts: { generate: boolean }): Promise<Buffer> {
  if (config.masterKey) return parseMasterKey(config.masterKey, 'SOPHON_MASTER_KEY');
  const file = config.masterKeyFile ?? path.join(config.home, 'master.key');
  try {
    return parseMasterKey(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!opts.generate || config.masterKeyFile) {
      throw new SophonError('CONFIG_INVALID', `No master key: set SOPHON_MASTER_KEY or SOPHON_MASTER_KEY_FILE (${file} does not exist)`);
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
