import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project checkout (two levels above this file), where `.tools/` lives. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');
