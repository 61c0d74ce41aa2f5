import type { Client } from '@temporalio/client';
import type { Config } from '../settings.js';
import type { CredentialStore } from '../../features/credentials/store.js';
import type { Catalog } from '../../features/defs/index.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { OperationsService } from '../../features/operations/service.js';
import type { SecretBox } from '../secrets/secret-box.js';

export interface ApiDeps {
  config: Config;
  pool: Pool;
  temporal: Client;
  logger: Logger;
  operations: OperationsService;
  credentials: CredentialStore;
  secretBox: SecretBox;
  catalog: Catalog;
}
