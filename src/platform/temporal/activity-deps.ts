import type { Client } from '@temporalio/client';
import type { Config } from '../settings.js';
import type { CredentialStore } from '../../features/credentials/store.js';
import type { Catalog } from '../../features/defs/index.js';
import type { PackageRepository } from '../../features/packages/index.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { SshPool } from '../ssh/index.js';

/** What activities may touch; tests pass real instances of each. */
export interface ActivityDeps {
  pool: Pool;
  logger: Logger;
  credentials: CredentialStore;
  /** Opens sealed secrets other than SSH credentials (notification channels). */
  secretBox: SecretBox;
  ssh: SshPool;
  catalog: Catalog;
  packages: PackageRepository;
  /** Where the worker keeps verified packages before uploading them to hosts. */
  packageCacheDir: string;
  /** For activities that look at workflows themselves (the reconciler). */
  temporal: Client;
  /** For activities that ensure schedules (task queue, intervals) and for monitoring settings. */
  config: Config;
}
