import type { Pool } from '../src/db/pool.js';
import type { Logger } from '../src/log.js';

/** What activities may touch; tests pass real instances of each. */
export interface ActivityDeps {
  pool: Pool;
  logger: Logger;
}
