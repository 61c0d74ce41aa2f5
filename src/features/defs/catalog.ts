/** The loaded catalog of service definitions, for the API, the CLI and the workflows. */
import { notFound } from '../../platform/errors.js';
import { definitionError, validateDefinitionsDir } from './loader.js';
import type { ServiceDefinition, TaskDefinition } from './schema.js';

export interface ServiceSummary {
  name: string;
  label: string;
  description: string;
  versions: string[];
  defaultVersion: string;
  dependencies: string[];
  roles: Array<{ name: string; kind: string; cardinality: string }>;
}

export interface Catalog {
  list(): ServiceSummary[];
  get(name: string): ServiceDefinition;
  has(name: string): boolean;
}

/** A definition as the API shows it: everything but where it lives on the server's disk. */
export function publicDefinition(def: ServiceDefinition): Omit<ServiceDefinition, 'dir'> {
  const { dir: _dir, ...rest } = def;
  return rest;
}

/** The version used when a request names none: the one marked default, else the last listed. */
export function defaultVersion(def: ServiceDefinition): string {
  const v = def.versions.find((x) => x.default) ?? def.versions[def.versions.length - 1];
  return v?.version ?? '';
}

/** A task of the definition by name; undefined when it has none of that name (each caller says why that matters). */
export function taskOf(def: ServiceDefinition, name: string): TaskDefinition | undefined {
  return def.tasks.find((t) => t.name === name);
}

export function summarize(def: ServiceDefinition): ServiceSummary {
  return {
    name: def.name,
    label: def.label,
    description: def.description,
    versions: def.versions.map((v) => v.version),
    defaultVersion: defaultVersion(def),
    dependencies: def.dependencies,
    roles: def.roles.map((r) => ({ name: r.name, kind: r.kind, cardinality: r.cardinality })),
  };
}

/** Loads every definition under `dir`; any problem in any of them refuses the whole catalog. */
export async function loadCatalog(dir: string): Promise<Catalog> {
  const { definitions, issues } = await validateDefinitionsDir(dir);
  if (issues.length > 0) throw definitionError(issues);
  const byName = new Map(definitions.map((d) => [d.name, d]));
  return {
    list: () => definitions.map(summarize),
    get(name) {
      const def = byName.get(name);
      if (!def) throw notFound('Service definition', name);
      return def;
    },
    has: (name) => byName.has(name),
  };
}
