import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project checkout: the nearest directory above this file with a package.json (src/dev/ from the sources, dist/src/dev/ compiled). */
function projectRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
  }
}

export const PROJECT_ROOT = projectRoot();
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');
