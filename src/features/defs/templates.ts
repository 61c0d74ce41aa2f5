/**
 * Rendering of configuration files and commands with nunjucks. Undefined variables are errors
 * (throwOnUndefined), and output is deterministic: the same definition, cluster and parameters
 * give byte-identical files, so an unchanged configuration is never rewritten.
 */
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import { stringify as yamlStringify } from 'yaml';
import { SophonError } from '../../platform/errors.js';
import type { ConfigFileDefinition, ParameterValue, ServiceDefinition } from './schema.js';

export interface HostRef {
  hostname: string;
  address: string;
  labels?: Record<string, string>;
  /** The instance's stored index; its position in the placement when absent. Kept across scaling, so ids never change. */
  index?: number;
}

export interface InstanceRef {
  role: string;
  hostname: string;
  address: string;
  /** The host's labels, e.g. `rack`. */
  labels: Record<string, string>;
  /** 0-based index in the role: its position at deployment; a member added later takes the next free one. */
  index: number;
  /** 1-based: `myid` for ZooKeeper, broker.id for Kafka. */
  id: number;
  ports: Record<string, number>;
}

export interface TemplateContext {
  /** `id`: the service's UUID; `shortId`: its 16 bytes as 22 characters of URL-safe base64 (a Kafka cluster id). */
  service: { name: string; version: string; id: string; shortId: string };
  cluster: { name: string; roles: Record<string, { hosts: InstanceRef[] }> };
  instance: InstanceRef;
  params: Record<string, ParameterValue>;
  paths: { root: string; install: string; conf: string; data: string; log: string; run: string };
  runAs: { user: string; group: string };
  /** Placements of the services this one depends on, e.g. deps.zookeeper.roles.server.hosts. */
  deps: Record<string, { roles: Record<string, { hosts: InstanceRef[] }> }>;
  /** The task's parameter values, in task commands only. */
  task?: Record<string, ParameterValue>;
}

export const CONTEXT_ROOTS = ['service', 'cluster', 'instance', 'params', 'paths', 'runAs', 'deps'] as const;

export interface ContextInput {
  definition: ServiceDefinition;
  /** The deployed service's UUID (a zero UUID where there is none yet, e.g. a preview). */
  serviceId?: string;
  version: string;
  clusterName: string;
  /** role → hosts, in placement order (this order gives indexes and ids unless a host carries its index). */
  placement: Record<string, HostRef[]>;
  role: string;
  hostname: string;
  params: Record<string, ParameterValue>;
  /** The host's install root, e.g. /opt/sophon. */
  installRoot: string;
  /** Instances of the dependencies, by service and role, with their ports. */
  deps?: TemplateContext['deps'];
}

/** Port numbers of a role, with parameter overrides applied. */
export function rolePorts(definition: ServiceDefinition, role: string, params: Record<string, ParameterValue>): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const p of definition.roles.find((r) => r.name === role)?.ports ?? []) {
    const override = p.parameter === undefined ? undefined : params[p.parameter];
    ports[p.name] = typeof override === 'number' ? override : p.port;
  }
  return ports;
}

const NO_SERVICE = '00000000-0000-0000-0000-000000000000';

/** A UUID's 16 bytes as URL-safe base64 without padding. */
export function shortIdOf(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

export function buildContext(input: ContextInput): TemplateContext {
  const { definition: def } = input;
  const serviceId = input.serviceId ?? NO_SERVICE;
  const roles: TemplateContext['cluster']['roles'] = {};
  for (const role of def.roles) {
    const hosts = input.placement[role.name] ?? [];
    roles[role.name] = {
      hosts: hosts.map((h, position) => ({
        role: role.name,
        hostname: h.hostname,
        address: h.address,
        labels: h.labels ?? {},
        index: h.index ?? position,
        id: (h.index ?? position) + 1,
        ports: rolePorts(def, role.name, input.params),
      })),
    };
  }
  const instance = roles[input.role]?.hosts.find((h) => h.hostname === input.hostname);
  if (!instance) {
    throw new SophonError(
      'VALIDATION_FAILED',
      `Host '${input.hostname}' is not placed in role '${input.role}' of ${def.name}; add it to the placement first`,
    );
  }
  const install = `${input.installRoot}/${def.name}`;
  return {
    service: { name: def.name, version: input.version, id: serviceId, shortId: shortIdOf(serviceId) },
    cluster: { name: input.clusterName, roles },
    instance,
    params: input.params,
    paths: {
      root: input.installRoot,
      install: `${install}/current`,
      conf: `${install}/conf/${input.role}`,
      data: `${install}/data/${input.role}`,
      log: `${install}/logs/${input.role}`,
      run: `${install}/run/${input.role}`,
    },
    runAs: { user: def.runAs.user, group: def.runAs.group ?? def.runAs.user },
    deps: input.deps ?? {},
  };
}

class MemoryLoader implements nunjucks.ILoader {
  constructor(private readonly templates: Record<string, string>) {}
  getSource(name: string): nunjucks.LoaderSource {
    const src = this.templates[name];
    if (src === undefined) throw new Error(`template '${name}' does not exist under templates/`);
    return { src, path: name, noCache: false };
  }
}

const environments = new WeakMap<ServiceDefinition, nunjucks.Environment>();

function environment(def: ServiceDefinition): nunjucks.Environment {
  let env = environments.get(def);
  if (!env) {
    env = new nunjucks.Environment(new MemoryLoader(def.templates), {
      throwOnUndefined: true,
      autoescape: false,
      trimBlocks: true,
      lstripBlocks: true,
    });
    environments.set(def, env);
  }
  return env;
}

function renderError(def: ServiceDefinition, where: string, err: unknown): SophonError {
  const detail = err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
  return new SophonError('DEFINITION_INVALID', `${def.name}: cannot render ${where}: ${detail}`, [{ path: where, message: detail }]);
}

/** Renders one template string (a command, a config value). */
export function renderString(def: ServiceDefinition, src: string, ctx: TemplateContext, where = 'a template'): string {
  try {
    return environment(def).renderString(src, ctx);
  } catch (err) {
    throw renderError(def, where, err);
  }
}

/** Characters a value may have to be placed in a shell command without quoting. */
const SHELL_SAFE = /^[A-Za-z0-9._/:@%+=,-]*$/;

function unsafeLeaf(value: unknown, path: string): { path: string; value: string } | undefined {
  if (typeof value === 'string') return SHELL_SAFE.test(value) ? undefined : { path, value };
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const found = unsafeLeaf(child, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Renders a command (start, stop, status, health check, leader check, decommission step).
 * Commands run in a shell on the host, so every value they read must be a plain word:
 * a parameter or path holding a space, quote, `;`, `$` or the like is refused here, before
 * anything reaches a host, instead of being spliced into the command line.
 */
export function renderCommand(def: ServiceDefinition, src: string, ctx: TemplateContext, where = 'a command'): string {
  for (const ref of templateReferences(src)) {
    let value: unknown = ctx;
    for (const key of ref.path) value = (value as Record<string, unknown> | undefined)?.[key];
    const unsafe = unsafeLeaf(value, ref.path.join('.'));
    if (unsafe) {
      const message = `${unsafe.path} is ${JSON.stringify(unsafe.value)}, which cannot go into a shell command: use only letters, digits and . _ / : @ % + = , -`;
      throw new SophonError('VALIDATION_FAILED', `${def.name}: ${where}: ${message}`, [{ path: unsafe.path, message }]);
    }
  }
  return renderString(def, src, ctx, where);
}

function renderTemplateFile(def: ServiceDefinition, name: string, ctx: TemplateContext): string {
  try {
    return environment(def).render(name, ctx);
  } catch (err) {
    throw renderError(def, `templates/${name}`, err);
  }
}

export interface RenderedFile {
  path: string;
  mode: string;
  content: string;
  sha256: string;
}

type Scalar = string | number | boolean;

function renderScalar(def: ServiceDefinition, v: Scalar, ctx: TemplateContext, where: string): string {
  return typeof v === 'string' ? renderString(def, v, ctx, where) : String(v);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function renderTree(def: ServiceDefinition, v: unknown, ctx: TemplateContext, where: string): unknown {
  if (typeof v === 'string') return renderString(def, v, ctx, where);
  if (Array.isArray(v)) return v.map((x, i) => renderTree(def, x, ctx, `${where}.${i}`));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderTree(def, x, ctx, `${where}.${k}`)]));
  }
  return v;
}

function renderStructured(def: ServiceDefinition, file: ConfigFileDefinition, ctx: TemplateContext): string {
  const where = `configFiles[${file.path}]`;
  const entries = Object.entries(file.entries ?? {});
  const flat = (): Array<[string, string]> =>
    entries.map(([k, v]) => {
      if (typeof v === 'object') throw renderError(def, `${where}.entries.${k}`, 'expected a value, got a section');
      return [k, renderScalar(def, v, ctx, `${where}.entries.${k}`)];
    });
  switch (file.format) {
    case 'properties':
      return flat()
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
    case 'env':
      return flat()
        .map(([k, v]) => `${k}="${v.replace(/(["\\$`])/g, '\\$1')}"\n`)
        .join('');
    case 'xml':
      return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<configuration>',
        ...flat().map(([k, v]) => `  <property>\n    <name>${escapeXml(k)}</name>\n    <value>${escapeXml(v)}</value>\n  </property>`),
        '</configuration>',
        '',
      ].join('\n');
    case 'ini':
      return entries
        .map(([section, keys]) => {
          if (typeof keys !== 'object') throw renderError(def, `${where}.entries.${section}`, 'expected a section of keys');
          const lines = Object.entries(keys).map(([k, v]) => `${k} = ${renderScalar(def, v, ctx, `${where}.entries.${section}.${k}`)}`);
          return `[${section}]\n${lines.join('\n')}\n`;
        })
        .join('\n');
    case 'yaml':
      return yamlStringify(renderTree(def, file.content ?? {}, ctx, `${where}.content`), { lineWidth: 0 });
    case 'template':
      return renderTemplateFile(def, file.template ?? '', ctx);
  }
}

/** All configuration files of the context's instance, in definition order. */
export function renderConfigFiles(def: ServiceDefinition, ctx: TemplateContext): RenderedFile[] {
  return def.configFiles
    .filter((f) => f.roles === undefined || f.roles.includes(ctx.instance.role))
    .map((f) => {
      const content = renderStructured(def, f, ctx);
      return {
        path: `${f.base === 'data' ? ctx.paths.data : ctx.paths.conf}/${f.path}`,
        mode: f.mode,
        content,
        sha256: createHash('sha256').update(content).digest('hex'),
      };
    });
}

/** A template's references to context variables, for load-time checks. */
export interface TemplateReference {
  /** e.g. ['params', 'tickTime'] or ['cluster', 'roles', 'server', 'hosts']; literal steps only. */
  path: string[];
  line: number;
  column: number;
}

interface AstNode {
  typename: string;
  lineno: number;
  colno: number;
  value?: unknown;
  fields?: string[];
  children?: AstNode[];
  [field: string]: unknown;
}

type NunjucksInternals = { parser: { parse(src: string): AstNode } };

/**
 * Parses a template and lists the variables it reads that are not bound inside it (loop
 * variables, `set`, macro arguments). Throws the parser's message on a syntax error.
 */
export function templateReferences(src: string): TemplateReference[] {
  const ast = (nunjucks as unknown as NunjucksInternals).parser.parse(src);
  const bound = new Set<string>(['loop', 'caller']);
  const refs: TemplateReference[] = [];

  const symbols = (node: unknown): string[] => {
    if (!node || typeof node !== 'object') return [];
    const n = node as AstNode;
    if (n.typename === 'Symbol') return [String(n.value)];
    return (n.children ?? []).flatMap(symbols);
  };
  const bind = (node: AstNode) => {
    if (n(node, 'For') || n(node, 'AsyncEach') || n(node, 'AsyncAll')) symbols(node.name).forEach((s) => bound.add(s));
    if (n(node, 'Set')) for (const t of (node.targets as unknown[]) ?? []) symbols(t).forEach((s) => bound.add(s));
    if (n(node, 'Macro') || n(node, 'Caller')) {
      symbols(node.name).forEach((s) => bound.add(s));
      const args = node.args as AstNode | undefined;
      for (const a of args?.children ?? []) {
        if (a.typename === 'Symbol') bound.add(String(a.value));
        if (a.typename === 'KeywordArgs') for (const p of a.children ?? []) symbols((p as AstNode).key).forEach((s) => bound.add(s));
      }
    }
  };
  const n = (node: AstNode, type: string) => node.typename === type;

  const chain = (node: AstNode): { root: AstNode; path: string[] } | null => {
    if (node.typename === 'Symbol') return { root: node, path: [String(node.value)] };
    if (node.typename === 'LookupVal') {
      const inner = chain(node.target as AstNode);
      if (!inner) return null;
      const key = node.val as AstNode;
      return key.typename === 'Literal' ? { root: inner.root, path: [...inner.path, String(key.value)] } : inner;
    }
    return null;
  };

  const visit = (node: unknown, inLookup: boolean) => {
    if (!node || typeof node !== 'object') return;
    const nd = node as AstNode;
    bind(nd);
    if (!inLookup && (nd.typename === 'LookupVal' || nd.typename === 'Symbol')) {
      const c = chain(nd);
      if (c) refs.push({ path: c.path, line: c.root.lineno + 1, column: c.root.colno + 1 });
    }
    // A lookup's target is part of the chain already recorded; its key may hold other variables.
    if (nd.typename === 'LookupVal') {
      visit(nd.target, true);
      visit(nd.val, false);
      return;
    }
    if (nd.typename === 'Symbol') return;
    // Filter and call names are functions, not variables.
    if (nd.typename === 'Filter' || nd.typename === 'FunCall') {
      visit(nd.args, false);
      if (nd.typename === 'FunCall' && (nd.name as AstNode).typename !== 'Symbol') visit(nd.name, false);
      return;
    }
    // Dictionary keys are names, not variables.
    if (nd.typename === 'Pair') {
      visit(nd.value, false);
      return;
    }
    for (const field of nd.fields ?? []) {
      const child = nd[field];
      if (Array.isArray(child)) child.forEach((c) => visit(c, false));
      else visit(child, false);
    }
  };
  visit(ast, false);
  return refs.filter((r) => !bound.has(r.path[0] ?? ''));
}
