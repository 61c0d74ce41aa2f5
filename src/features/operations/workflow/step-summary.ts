/**
 * Activity summaries for the Temporal UI: a host step's activities carry one line naming the
 * instance, phase and step (`server@n2 · restart batch 2 › stop`), so a pending or failing
 * activity says where it runs without opening its input. Summaries are user metadata, which
 * replay does not compare: adding or changing them needs no patch.
 */
import { AsyncLocalStorage, proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';

const current = new AsyncLocalStorage<string>();

/** `role@host · phase › step`, or `host · phase › step` for a step on the host itself. */
export const stepSummary = (key: { host: string; role?: string; phase: string; step: string }) =>
  `${key.role ? `${key.role}@` : ''}${key.host} · ${key.phase} › ${key.step}`;

/** Runs `fn`; activities of `proxyHostActivities` that it schedules carry `summary`. */
export const withSummary = <T>(summary: string, fn: () => Promise<T>): Promise<T> => current.run(summary, fn);

/** `proxyActivities` whose calls carry the summary of the `withSummary` they run in, if any. */
export function proxyHostActivities(options: ActivityOptions): ActivityInterfaceFor<Activities> {
  const plain = proxyActivities<Activities>(options);
  return new Proxy(plain, {
    get(target, name) {
      const fn = target[name as keyof Activities];
      const call = (...args: unknown[]) => {
        const summary = current.getStore();
        return summary ? fn.executeWithOptions({ summary }, args as never) : (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      };
      return Object.assign(call, { executeWithOptions: fn.executeWithOptions });
    },
  });
}
