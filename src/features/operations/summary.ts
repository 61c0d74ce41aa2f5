/**
 * The one-line summary and the details an operation's workflow carries in the Temporal UI
 * (user metadata): what it does, where, and who asked, read from the operation row alone so a
 * start resumed after an outage says the same.
 */
import type { Operation } from './repo.js';

type Described = Pick<Operation, 'id' | 'type' | 'clusterName' | 'service' | 'input' | 'requestedBy'>;

/** Names listed in a summary before the rest are counted. */
const NAMES_LISTED = 3;

const names = (list: unknown): string[] => (Array.isArray(list) ? list.map(String) : []);

/** ` (roles server; hosts n1, n2 +3 more)` for the non-empty lists; '' when all are empty. */
function narrowed(lists: Record<string, unknown>): string {
  const parts = Object.entries(lists)
    .map(([what, list]) => [what, names(list)] as const)
    .filter(([, list]) => list.length > 0)
    .map(
      ([what, list]) =>
        `${what} ${list.slice(0, NAMES_LISTED).join(', ')}${list.length > NAMES_LISTED ? ` +${list.length - NAMES_LISTED} more` : ''}`,
    );
  return parts.length ? ` (${parts.join('; ')})` : '';
}

/** `, rolling` with its batch size when the request set one; '' for all at once. */
function rolling(input: Record<string, unknown>, always = false): string {
  const r = input.rolling as { batchSize?: unknown } | undefined;
  if (!r && !always) return '';
  return typeof r?.batchSize === 'number' ? `, rolling ${r.batchSize} at a time` : ', rolling';
}

/** E.g. `restart zookeeper (hosts n1, n2) on analytics, rolling 1 at a time, by token:ops`. */
export function operationSummary(op: Described): string {
  const input = op.input;
  const svc = op.service ?? '';
  const on = op.clusterName ? ` on ${op.clusterName}` : '';
  const hosts = narrowed({ hosts: input.hosts });
  let what: string;
  switch (op.type) {
    case 'cluster.create':
      what = `create cluster ${op.clusterName ?? ''}`;
      break;
    case 'hosts.bootstrap':
      what = `bootstrap hosts${on}`;
      break;
    case 'service.deploy':
      what = `deploy ${svc}${on}`;
      break;
    case 'service.start':
    case 'service.stop':
    case 'service.restart':
      what = `${op.type.slice('service.'.length)} ${svc}${narrowed({ roles: input.roles, hosts: input.hosts })}${on}${rolling(input)}`;
      break;
    case 'service.upgrade':
      what = `upgrade ${svc}${on} to ${String(input.version)}${rolling(input, true)}`;
      break;
    case 'service.scale':
      what = `scale ${svc} ${String(input.role)}${on}: add ${names(input.add).length}, remove ${names(input.remove).length}`;
      break;
    case 'service.remove':
      what = `remove ${svc} from ${op.clusterName ?? ''}`;
      break;
    case 'service.reconfigure':
      what = `reconfigure ${svc}${on} (from config version ${String(input.fromVersion)})`;
      break;
    case 'service.task':
      what = `run task ${String(input.task)} of ${svc}${hosts}${on}`;
      break;
    case 'service.recover':
      what = `recover a ${svc} instance seen down${on}`;
      break;
    default:
      what = `${op.type}${svc ? ` ${svc}` : ''}${on}`;
  }
  return `${what}, by ${op.requestedBy}`;
}

/** Markdown under the summary: the operation to look up in Sophon and how a HOLDING one is decided. */
export function operationDetails(op: Described): string {
  return [
    `Sophon operation \`${op.id}\` (${op.type}), requested by ${op.requestedBy}.`,
    `When it is HOLDING, decide with \`sophon ops decide ${op.id} retry|skip|abort|rollback\` (the workflow's \`decide\` Update).`,
  ].join('\n\n');
}
