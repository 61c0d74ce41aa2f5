/** Parameter values for a deployment or a reconfiguration: defaults plus checked overrides. */
import { SophonError, type FieldError } from '../../platform/errors.js';
import { parameterProblem } from './loader.js';
import { defaultParams } from './placement.js';
import type { ParameterValue, ServiceDefinition, TaskDefinition } from './schema.js';

/**
 * Merges `values` over the defaults; every unknown, missing or out-of-range value is reported
 * at once, at `<field>.<param>` of the request.
 */
export function resolveParameters(
  def: ServiceDefinition,
  values: Record<string, unknown> = {},
  field = 'config',
): Record<string, ParameterValue> {
  const errors: FieldError[] = [];
  const known = new Map(def.parameters.map((p) => [p.name, p]));
  for (const key of Object.keys(values)) {
    if (!known.has(key)) errors.push({ path: `${field}.${key}`, message: `${def.name} has no parameter '${key}'` });
  }
  const out = defaultParams(def);
  for (const p of def.parameters) {
    const v = values[p.name];
    if (v === undefined) {
      if (out[p.name] === undefined)
        errors.push({ path: `${field}.${p.name}`, message: `parameter '${p.name}' has no default and must be given` });
      continue;
    }
    const problem = parameterProblem(p, v);
    if (problem) errors.push({ path: `${field}.${p.name}`, message: problem });
    else out[p.name] = v as ParameterValue;
  }
  if (errors.length > 0) {
    throw new SophonError('VALIDATION_FAILED', `Invalid configuration for ${def.name}: ${errors.map((e) => e.message).join('; ')}`, errors);
  }
  return out;
}

/** Names of changed parameters that need the instances restarted. */
export function restartNeeded(
  def: ServiceDefinition,
  before: Record<string, ParameterValue>,
  after: Record<string, ParameterValue>,
): string[] {
  return def.parameters.filter((p) => p.restart && before[p.name] !== after[p.name]).map((p) => p.name);
}

/** Values of a task's parameters (defaults plus checked overrides), reported at `<field>.<param>`. */
export function resolveTaskParameters(
  def: ServiceDefinition,
  task: TaskDefinition,
  values: Record<string, unknown> = {},
  field = 'parameters',
): Record<string, ParameterValue> {
  return resolveParameters({ ...def, name: `${def.name} task ${task.name}`, parameters: task.parameters }, values, field);
}
