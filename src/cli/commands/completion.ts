/** sophon completion bash|zsh: a completion script generated from the commander tree, so it never drifts from the commands. */
import type { Command } from 'commander';
import { usage } from '../output.js';

interface Node {
  path: string;
  subcommands: string[];
  options: string[];
}

function walk(cmd: Command, prefix: string, out: Node[]): Node[] {
  const path = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
  const options = cmd.options.flatMap((o) => [o.short, o.long].filter((x): x is string => Boolean(x)));
  out.push({ path, subcommands: cmd.commands.map((c) => c.name()), options: [...options, '--help'] });
  for (const sub of cmd.commands) walk(sub, path, out);
  return out;
}

/** Single-quoted for sh; command and option names are plain words anyway. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function cases(nodes: Node[], pick: (n: Node) => string[]): string {
  return nodes.map((n) => `    ${q(n.path)}) echo ${q(pick(n).join(' '))} ;;`).join('\n');
}

/** The commands under a path and the words (commands and options) completed there. */
function lookups(nodes: Node[], globals: string[]): string {
  return `_sophon_subcommands() {
  case "$1" in
${cases(nodes, (n) => n.subcommands)}
  esac
}
_sophon_words() {
  case "$1" in
${cases(nodes, (n) => [...n.subcommands, ...n.options, ...(n.path === 'sophon' ? [] : globals)])}
  esac
}`;
}

export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const nodes = walk(program, '', []);
  const globals = program.options.flatMap((o) => [o.long].filter((x): x is string => Boolean(x)));
  if (shell === 'bash') {
    return `# sophon completion for bash: eval "$(sophon completion bash)" (e.g. in ~/.bashrc)
${lookups(nodes, globals)}
_sophon_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmdpath="sophon" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case " $(_sophon_subcommands "$cmdpath") " in *" $w "*) cmdpath="$cmdpath $w" ;; esac
  done
  COMPREPLY=($(compgen -W "$(_sophon_words "$cmdpath")" -- "$cur"))
}
complete -F _sophon_complete sophon
`;
  }
  return `#compdef sophon
# sophon completion for zsh: sophon completion zsh > "\${fpath[1]}/_sophon" (or eval "$(sophon completion zsh)" after compinit)
${lookups(nodes, globals)}
_sophon() {
  # not "path": zsh ties that name to PATH
  local cmdpath="sophon" w
  for w in "\${(@)words[2,CURRENT-1]}"; do
    if [[ " $(_sophon_subcommands "$cmdpath") " == *" $w "* ]]; then cmdpath="$cmdpath $w"; fi
  done
  compadd -- \${(z)"$(_sophon_words "$cmdpath")"}
}
compdef _sophon sophon
`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for bash or zsh')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw usage(`completion: expected bash or zsh, got ${JSON.stringify(shell)}`);
      process.stdout.write(completionScript(program, shell));
    });
}
