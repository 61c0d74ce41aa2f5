/** `sophon defs validate [dir]`: prints every problem and exits non-zero when there is one. */
import { formatIssue, validateDefinitionsDir } from './loader.js';

export async function runDefsValidate(dir: string, out: NodeJS.WritableStream): Promise<number> {
  const { definitions, issues } = await validateDefinitionsDir(dir);
  for (const issue of issues) out.write(`${formatIssue(issue)}\n`);
  if (issues.length > 0) {
    out.write(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${dir}\n`);
    return 1;
  }
  out.write(`${definitions.length} service definitions in ${dir} are valid\n`);
  return 0;
}
