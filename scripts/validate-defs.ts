// Same as `sophon defs validate [dir]`, without the rest of the CLI: used by .ci/run.
import { runDefsValidate } from '../src/defs/cli.js';

process.exitCode = await runDefsValidate(process.argv[2] ?? 'service-defs', process.stdout);
