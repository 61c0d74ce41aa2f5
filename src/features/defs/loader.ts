/**
 * Loads `service-defs/<name>/service.yaml` and its templates, and checks them hard: schema,
 * cross-references inside a definition and between definitions, and the variables every
 * template reads. Every problem names the file, the field path, what was expected and, when
 * known, the line.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { SophonError } from '../../platform/errors.js';
import { serviceDefinitionSchema, type ServiceDefinition, type ServiceDefinitionData, type TaskDefinition } from './schema.js';
import { CONTEXT_ROOTS, templateReferences } from './templates.js';

export interface DefinitionIssue {
  file: string;
  /** Dotted field path inside the file, e.g. `roles.0.cardinality`; empty for the whole file. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export function formatIssue(i: DefinitionIssue): string {
  const where = i.line === undefined ? i.file : `${i.file}:${i.line}${i.column === undefined ? '' : `:${i.column}`}`;
  return `${where}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

export function definitionError(issues: DefinitionIssue[]): SophonError {
  const head = issues.slice(0, 5).map(formatIssue).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return new SophonError(
    'DEFINITION_INVALID',
    `Invalid service definitions: ${head}${more}. Fix the files and run 'sophon defs validate'`,
    issues.map((i) => ({ path: `${i.file}${i.line === undefined ? '' : `:${i.line}`} ${i.path}`.trim(), message: i.message })),
  );
}

type Path = Array<string | number>;

/** Positions of fields in a parsed YAML document. */
class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line/column of the deepest existing node on the path. */
  at(path: Path): { line?: number; column?: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const { line, col } = this.lines.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return {};
  }
}

function describeReceived(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code !== 'invalid_type' && issue.code !== 'invalid_value' && issue.code !== 'invalid_format') return '';
  let v: unknown = raw;
  for (const k of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  if (v === undefined) return ' (missing)';
  const text = JSON.stringify(v);
  return text !== undefined && text.length <= 40 ? ` (got ${text})` : '';
}

interface Loaded {
  definition?: ServiceDefinition;
  issues: DefinitionIssue[];
  at?: (path: Path) => { line?: number; column?: number };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function readTemplates(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!(await exists(dir))) return out;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries.filter((x) => x.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(e.parentPath, e.name);
    out[relative(dir, full).split('\\').join('/')] = await readFile(full, 'utf8');
  }
  return out;
}

/** Loads one definition folder; never throws for bad content, only reports. */
export async function loadDefinition(folder: string, folderName: string): Promise<Loaded> {
  const file = join(folder, 'service.yaml');
  const issues: DefinitionIssue[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { issues: [{ file, path: '', message: `missing service.yaml: every folder under service-defs/ describes one service` }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  // Only the first syntax error: the ones after it are usually its echoes.
  if (doc.errors.length > 0) {
    return {
      issues: doc.errors.slice(0, 1).map((e) => ({
        file,
        path: '',
        message: `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}),
      })),
    };
  }
  const raw: unknown = doc.toJS();
  const pos = new Positions(doc, lines);
  const parsed = serviceDefinitionSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      issues: parsed.error.issues.map((issue) => ({
        file,
        path: issue.path.map(String).join('.'),
        message: `${issue.message}${describeReceived(issue, raw)}`,
        ...pos.at(issue.path as Path),
      })),
    };
  }
  const data = parsed.data;
  const templatesDir = join(folder, 'templates');
  const definition: ServiceDefinition = { ...data, dir: folder, templates: await readTemplates(templatesDir) };
  const report = (path: Path, message: string) => issues.push({ file, path: path.map(String).join('.'), message, ...pos.at(path) });
  crossCheck(data, folderName, definition.templates, report);
  checkTemplates(definition, file, templatesDir, pos, issues);
  return { definition, issues, at: (path) => pos.at(path) };
}

type Report = (path: Path, message: string) => void;

function duplicates<T>(items: T[], key: (t: T) => string, report: (index: number, key: string) => void) {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) report(i, k);
    seen.add(k);
  });
}

const list = (names: string[]) => names.map((n) => `'${n}'`).join(', ');

function crossCheck(d: ServiceDefinitionData, folderName: string, templates: Record<string, string>, report: Report) {
  if (d.name !== folderName) report(['name'], `expected '${folderName}', the name of the folder it is in (got '${d.name}')`);

  duplicates(
    d.versions,
    (v) => v.version,
    (i, k) => report(['versions', i, 'version'], `version '${k}' is listed twice`),
  );
  if (d.versions.filter((v) => v.default).length > 1) report(['versions'], 'expected at most one version marked default: true');
  d.versions.forEach((v, vi) =>
    duplicates(
      v.packages,
      (p) => p.arch,
      (pi, k) => report(['versions', vi, 'packages', pi, 'arch'], `arch '${k}' has two packages`),
    ),
  );

  const roleNames = d.roles.map((r) => r.name);
  const portsOf = new Map(d.roles.map((r) => [r.name, r.ports.map((p) => p.name)]));
  const params = new Map(d.parameters.map((p) => [p.name, p]));
  const role = (path: Path, name: string) => {
    if (!roleNames.includes(name)) report(path, `role '${name}' is not defined; the roles are ${list(roleNames)}`);
  };
  const port = (path: Path, roleName: string, name: string) => {
    const declared = portsOf.get(roleName) ?? [];
    if (!declared.includes(name)) {
      report(path, `port '${name}' is not declared by role '${roleName}'; its ports are ${declared.length ? list(declared) : 'none'}`);
    }
  };

  duplicates(
    d.roles,
    (r) => r.name,
    (i, k) => report(['roles', i, 'name'], `role '${k}' is defined twice`),
  );
  if (d.dependencies.includes(d.name)) report(['dependencies'], 'a service cannot depend on itself');
  d.roles.forEach((r, ri) => {
    const at = (...p: Path): Path => ['roles', ri, ...p];
    duplicates(
      r.ports,
      (p) => p.name,
      (i, k) => report(at('ports', i, 'name'), `port '${k}' is declared twice`),
    );
    duplicates(
      r.ports,
      (p) => `${p.port}/${p.protocol}`,
      (i, k) => report(at('ports', i, 'port'), `port ${k} is used twice in role '${r.name}'`),
    );
    r.ports.forEach((p, pi) => {
      if (p.parameter === undefined) return;
      const param = params.get(p.parameter);
      if (!param) report(at('ports', pi, 'parameter'), `parameter '${p.parameter}' is not defined under parameters`);
      else if (param.type !== 'int') report(at('ports', pi, 'parameter'), `parameter '${p.parameter}' must be of type int to set a port`);
    });
    if (r.process) {
      for (const cmd of ['start', 'stop', 'status'] as const) {
        if (r[cmd]) report(at(cmd), `role '${r.name}' has a process: Sophon starts, checks and stops it; drop '${cmd}'`);
      }
    } else {
      if (r.kind !== 'client' && !r.start) report(at(), `role '${r.name}' of kind ${r.kind} needs a start command or a process`);
      if (r.start && !r.stop) report(at(), `role '${r.name}' has a start command but no stop command`);
    }
    duplicates(
      r.init,
      (s) => s.name,
      (i, k) => report(at('init', i, 'name'), `init step '${k}' is defined twice`),
    );
    r.healthChecks.forEach((h, hi) => {
      if (h.type !== 'command') port(at('healthChecks', hi, 'port'), r.name, h.port);
    });
    if (r.metrics) port(at('metrics', 'port'), r.name, r.metrics.port);
  });

  checkParameters(d.parameters, ['parameters'], report);
  duplicates(
    d.tasks,
    (t) => t.name,
    (i, k) => report(['tasks', i, 'name'], `task '${k}' is defined twice`),
  );
  d.tasks.forEach((t, i) => {
    role(['tasks', i, 'role'], t.role);
    if (t.where === 'leader' && d.rolling.leader?.role !== t.role) {
      report(['tasks', i, 'where'], `where: leader needs rolling.leader to tell the leader of role '${t.role}'`);
    }
    checkParameters(t.parameters, ['tasks', i, 'parameters'], report);
  });

  const fileKeys = new Set<string>();
  d.configFiles.forEach((f, i) => {
    const at = (...x: Path): Path => ['configFiles', i, ...x];
    f.roles?.forEach((r, ri) => role(at('roles', ri), r));
    for (const r of f.roles ?? roleNames) {
      if (fileKeys.has(`${r}/${f.path}`)) report(at('path'), `role '${r}' already has a config file '${f.path}'`);
      fileKeys.add(`${r}/${f.path}`);
    }
    if (f.format === 'template') {
      if (f.template === undefined) report(at('template'), "expected the name of a file under templates/ for format 'template'");
      else if (templates[f.template] === undefined) {
        report(at('template'), `templates/${f.template} does not exist; the templates are ${list(Object.keys(templates)) || 'none'}`);
      }
    } else {
      if (f.template !== undefined)
        report(
          at('template'),
          `'template' is for format 'template'; format ${f.format} takes ${f.format === 'yaml' ? 'content' : 'entries'}`,
        );
      if (f.format === 'yaml' ? f.content === undefined : f.entries === undefined) {
        report(at(), `format ${f.format} needs ${f.format === 'yaml' ? 'content' : 'entries'}`);
      }
      if (f.format !== 'yaml' && f.content !== undefined)
        report(at('content'), `'content' is for format yaml; format ${f.format} takes entries`);
      for (const [k, v] of Object.entries(f.entries ?? {})) {
        const section = typeof v === 'object';
        if (f.format === 'ini' && !section) report(at('entries', k), 'expected a section: a map of keys to values');
        if (f.format !== 'ini' && section) report(at('entries', k), `expected a value; sections belong to format ini`);
      }
    }
  });

  d.rolling.roleOrder.forEach((r, i) => role(['rolling', 'roleOrder', i], r));
  if (d.rolling.leader) role(['rolling', 'leader', 'role'], d.rolling.leader.role);
  if (d.rolling.order === 'followers-first' && !d.rolling.leader) {
    report(['rolling', 'leader'], "order 'followers-first' needs 'leader': a command that tells whether an instance leads");
  }
  d.decommission.forEach((s, i) => {
    role(['decommission', i, 'role'], s.role);
    if (s.where !== 'instance') {
      if (s.on === undefined) report(['decommission', i, 'on'], `where: ${s.where} needs 'on', the role whose host runs the step`);
      else role(['decommission', i, 'on'], s.on);
      if (s.where === 'leader' && s.on !== undefined && d.rolling.leader?.role !== s.on) {
        report(['decommission', i, 'where'], `where: leader needs rolling.leader to tell the leader of '${s.on}'`);
      }
    }
  });
  if (d.optionalDependencies.includes(d.name)) report(['optionalDependencies'], 'a service cannot depend on itself');
  d.placementRules.forEach((r, i) => {
    if (r.when) role(['placementRules', i, 'when', 'role'], r.when.role);
    if (r.atLeastParameter !== undefined && params.get(r.atLeastParameter)?.type !== 'int') {
      report(['placementRules', i, 'atLeastParameter'], `expected an int parameter defined under parameters (got '${r.atLeastParameter}')`);
    }
    if (r.role !== undefined) role(['placementRules', i, 'role'], r.role);
    if (r.sameHostsAs !== undefined) role(['placementRules', i, 'sameHostsAs'], r.sameHostsAs);
    if (r.service !== undefined && ![...d.dependencies, ...d.optionalDependencies].includes(r.service)) {
      report(['placementRules', i, 'service'], `'${r.service}' must be listed under optionalDependencies to be required here`);
    }
  });
  d.alerts.forEach((a, i) => {
    if (a.role !== undefined) role(['alerts', i, 'role'], a.role);
  });
  d.links.forEach((l, i) => {
    role(['links', i, 'role'], l.role);
    if (roleNames.includes(l.role)) port(['links', i, 'port'], l.role, l.port);
  });
}

/** Parameters of the service or of a task: bounds, patterns, enums and defaults that fit. */
function checkParameters(parameters: ServiceDefinitionData['parameters'], base: Path, report: Report) {
  duplicates(
    parameters,
    (p) => p.name,
    (i, k) => report([...base, i, 'name'], `parameter '${k}' is defined twice`),
  );
  parameters.forEach((p, i) => {
    const at = (...x: Path): Path => [...base, i, ...x];
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) report(at('min'), `min ${p.min} is above max ${p.max}`);
    if ((p.min !== undefined || p.max !== undefined) && p.type !== 'int' && p.type !== 'number') {
      report(at(), `min/max apply to int and number parameters, not ${p.type}`);
    }
    if (p.sumsTo !== undefined && p.type !== 'string') report(at('sumsTo'), `sumsTo applies to string parameters, not ${p.type}`);
    if (p.pattern !== undefined) {
      try {
        new RegExp(p.pattern);
      } catch {
        report(at('pattern'), `expected a regular expression (got '${p.pattern}')`);
      }
    }
    p.enum?.forEach((v, ei) => {
      const problem = parameterProblem({ ...p, enum: undefined }, v);
      if (problem) report(at('enum', ei), problem);
    });
    if (p.default !== undefined) {
      const problem = parameterProblem(p, p.default);
      if (problem) report(at('default'), problem);
    }
  });
}

/** Why a value does not fit a parameter, or null. */
export function parameterProblem(
  p: {
    name: string;
    type: string;
    min?: number;
    max?: number;
    enum?: Array<string | number | boolean>;
    pattern?: string;
    sumsTo?: number;
  },
  v: unknown,
): string | null {
  const ok =
    (p.type === 'string' && typeof v === 'string') ||
    (p.type === 'bool' && typeof v === 'boolean') ||
    (p.type === 'int' && Number.isInteger(v)) ||
    (p.type === 'number' && typeof v === 'number' && Number.isFinite(v));
  if (!ok) return `expected ${p.type === 'int' ? 'an int' : `a ${p.type}`} for '${p.name}' (got ${JSON.stringify(v)})`;
  if (typeof v === 'number' && p.min !== undefined && v < p.min) return `expected '${p.name}' to be at least ${p.min} (got ${v})`;
  if (typeof v === 'number' && p.max !== undefined && v > p.max) return `expected '${p.name}' to be at most ${p.max} (got ${v})`;
  if (p.enum && !p.enum.includes(v as string))
    return `expected '${p.name}' to be one of ${p.enum.map((e) => JSON.stringify(e)).join(', ')} (got ${JSON.stringify(v)})`;
  if (p.pattern !== undefined && typeof v === 'string' && !new RegExp(p.pattern).test(v)) {
    return `expected '${p.name}' to match /${p.pattern}/ (got ${JSON.stringify(v)})`;
  }
  if (p.sumsTo !== undefined && typeof v === 'string') return sumProblem(p.name, p.sumsTo, v);
  return null;
}

const SHARE = /^([A-Za-z0-9_-]+):(\d+(?:\.\d+)?)$/;

/** Why a `name:number,...` list is malformed, repeats a name or does not add up to `total`, or null. */
function sumProblem(name: string, total: number, v: string): string | null {
  const seen = new Set<string>();
  let sum = 0;
  for (const item of v.split(',')) {
    const m = SHARE.exec(item);
    if (!m) return `expected '${name}' to be a list like 'a:60,b:40' (got ${JSON.stringify(item)} in ${JSON.stringify(v)})`;
    if (seen.has(m[1]!)) return `expected the names in '${name}' to be unique ('${m[1]}' is listed twice)`;
    seen.add(m[1]!);
    sum += Number(m[2]);
  }
  // Decimal shares such as 33.3 do not add up exactly in floating point.
  if (Math.abs(sum - total) > 1e-6) return `expected the numbers in '${name}' to sum to ${total} (they sum to ${+sum.toFixed(6)})`;
  return null;
}

const PATH_KEYS = ['root', 'install', 'conf', 'data', 'log', 'run'];
const INSTANCE_KEYS = ['role', 'hostname', 'address', 'labels', 'index', 'id', 'ports'];
const HOST_KEYS = INSTANCE_KEYS;

/** What is wrong with a reference into the template context, or null. */
function referenceProblem(d: ServiceDefinition, path: string[], role: string | undefined, task?: TaskDefinition): string | null {
  const [root, a, b, c, e, f] = path;
  if (root === 'task') {
    if (!task) return "'task' is only seen by task commands (tasks[].run)";
    if (a !== undefined && !task.parameters.some((p) => p.name === a))
      return `task parameter '${a}' is not defined under the task's parameters`;
    return null;
  }
  const roleNames = d.roles.map((r) => r.name);
  const portsOf = (r: string) => d.roles.find((x) => x.name === r)?.ports.map((p) => p.name) ?? [];
  if (!CONTEXT_ROOTS.includes(root as (typeof CONTEXT_ROOTS)[number])) {
    return `unknown variable '${root}'; templates see ${CONTEXT_ROOTS.join(', ')}`;
  }
  const deps = [...d.dependencies, ...d.optionalDependencies];
  if (root === 'deps' && a !== undefined && !deps.includes(a)) {
    return `'${a}' is not among the dependencies of ${d.name} (${deps.length ? list(deps) : 'none'})`;
  }
  if (root === 'params' && a !== undefined && !d.parameters.some((p) => p.name === a)) {
    return `parameter '${a}' is not defined under parameters`;
  }
  if (root === 'paths' && a !== undefined && !PATH_KEYS.includes(a)) return `paths.${a} does not exist; paths has ${PATH_KEYS.join(', ')}`;
  if (root === 'instance' && a !== undefined) {
    if (!INSTANCE_KEYS.includes(a)) return `instance.${a} does not exist; instance has ${INSTANCE_KEYS.join(', ')}`;
    if (a === 'ports' && b !== undefined) {
      const roles = role === undefined ? roleNames : [role];
      const missing = roles.filter((r) => !portsOf(r).includes(b));
      if (missing.length > 0) return `port '${b}' is not declared by role ${list(missing)}`;
    }
  }
  if (root === 'cluster' && a === 'roles' && b !== undefined) {
    if (!roleNames.includes(b)) return `role '${b}' is not defined; the roles are ${list(roleNames)}`;
    // cluster.roles.<role>.hosts.<n>.<key>.<port>
    const key = /^\d+$/.test(e ?? '') ? f : undefined;
    if (c === 'hosts' && key !== undefined && !HOST_KEYS.includes(key)) return `a host has ${HOST_KEYS.join(', ')}, not '${key}'`;
    if (c === 'hosts' && key === 'ports' && path[6] !== undefined && !portsOf(b).includes(path[6])) {
      return `port '${path[6]}' is not declared by role '${b}'`;
    }
  }
  return null;
}

/** Every template string and file in a definition, with the role it renders for when known. */
function checkTemplates(d: ServiceDefinition, file: string, templatesDir: string, pos: Positions, issues: DefinitionIssue[]) {
  const inline = (path: Path, src: string, role: string | undefined, task?: TaskDefinition) => {
    const where = pos.at(path);
    check(src, role, task, (message, line) =>
      issues.push({ file, path: path.map(String).join('.'), message: `${message}${line > 1 ? ` (template line ${line})` : ''}`, ...where }),
    );
  };
  const check = (
    src: string,
    role: string | undefined,
    task: TaskDefinition | undefined,
    report: (message: string, line: number, column?: number) => void,
  ) => {
    let refs;
    try {
      refs = templateReferences(src);
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      const at = /\[Line (\d+), Column (\d+)\]/.exec(m);
      report(
        `template syntax: ${m
          .replace(/^\(unknown path\)\s*/, '')
          .replace(/\[Line \d+, Column \d+\]\s*/, '')
          .trim()}`,
        Number(at?.[1] ?? 1),
        Number(at?.[2] ?? 0) || undefined,
      );
      return;
    }
    for (const r of refs) {
      const problem = referenceProblem(d, r.path, role, task);
      if (problem) report(problem, r.line, r.column);
    }
  };

  d.roles.forEach((r, ri) => {
    for (const cmd of ['start', 'stop', 'status', 'reload', 'process'] as const) {
      const c = r[cmd];
      if (c) inline(['roles', ri, cmd, 'run'], c.run, r.name);
    }
    r.init.forEach((step, si) => {
      inline(['roles', ri, 'init', si, 'unless'], step.unless, r.name);
      inline(['roles', ri, 'init', si, 'run'], step.run, r.name);
    });
    r.healthChecks.forEach((h, hi) => {
      if (h.type === 'command') inline(['roles', ri, 'healthChecks', hi, 'run'], h.run, r.name);
    });
  });
  if (d.rolling.leader) inline(['rolling', 'leader', 'run'], d.rolling.leader.run, d.rolling.leader.role);
  // `instance` in a decommission step is always the instance being removed.
  d.decommission.forEach((s, i) => inline(['decommission', i, 'run'], s.run, s.role));
  d.tasks.forEach((t, i) => inline(['tasks', i, 'run'], t.run, t.role, t));

  const usedBy = new Map<string, Array<string | undefined>>();
  d.configFiles.forEach((f, i) => {
    const roles: Array<string | undefined> = f.roles ?? [undefined];
    if (f.format === 'template' && f.template !== undefined) {
      usedBy.set(f.template, [...(usedBy.get(f.template) ?? []), ...roles]);
      return;
    }
    const walk = (v: unknown, path: Path) => {
      if (typeof v === 'string') for (const r of roles) inline(path, v, r);
      else if (Array.isArray(v)) v.forEach((x, j) => walk(x, [...path, j]));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(f.entries ?? {}, ['configFiles', i, 'entries']);
    walk(f.content, ['configFiles', i, 'content']);
  });
  // Template files (also ones only included by others) are checked once per role using them.
  for (const [name, src] of Object.entries(d.templates)) {
    const tfile = join(templatesDir, name);
    const seen = new Set<string>();
    for (const r of usedBy.get(name) ?? [undefined]) {
      check(src, r, undefined, (message, line, column) => {
        const key = `${line}:${column}:${message}`;
        if (seen.has(key)) return;
        seen.add(key);
        issues.push({ file: tfile, path: '', message, line, ...(column === undefined ? {} : { column }) });
      });
    }
  }
}

export interface ValidationResult {
  definitions: ServiceDefinition[];
  issues: DefinitionIssue[];
}

/** Loads every folder under `dir` and reports all problems found, across all definitions. */
export async function validateDefinitionsDir(dir: string): Promise<ValidationResult> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return { definitions: [], issues: [{ file: dir, path: '', message: 'cannot read the service definitions directory; check the path' }] };
  }
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const loaded = await Promise.all(folders.map((name) => loadDefinition(join(dir, name), name)));
  const issues = loaded.flatMap((l) => l.issues);
  const definitions = loaded.flatMap((l) => (l.definition ? [l.definition] : []));
  const known = new Set(folders);
  for (const { definition: d, at } of loaded) {
    for (const field of ['dependencies', 'optionalDependencies'] as const) {
      d?.[field].forEach((dep, i) => {
        if (!known.has(dep)) {
          issues.push({
            file: join(d.dir, 'service.yaml'),
            path: `${field}.${i}`,
            message: `service '${dep}' is not defined in ${dir}; add service-defs/${dep}/ or remove the dependency`,
            ...at?.([field, i]),
          });
        }
      });
    }
  }
  return { definitions, issues };
}
