import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';

/** Heartbeat period of activities that touch hosts; their proxies set a heartbeatTimeout of 15-20 s. */
export const HEARTBEAT_EVERY_MS = 3000;

export interface HostWork {
  /** Aborted when Temporal cancels the activity or the worker shuts down: pass it to every SSH call. */
  signal: AbortSignal;
  /** Details sent with the following heartbeats, e.g. the current step and bytes of output so far. */
  progress(details: Record<string, unknown>): void;
}

/**
 * Runs the body of an activity that touches hosts. Temporal delivers cancellation only to an
 * activity that heartbeats, so this heartbeats while the body runs and hands it the cancellation
 * signal. A body stopped by cancellation ends the activity as cancelled, not failed.
 */
export async function hostActivity<T>(body: (work: HostWork) => Promise<T>): Promise<T> {
  const context = Context.current();
  const signal = context.cancellationSignal;
  // Every command in flight on every host of the activity listens to it: more than Node's
  // default of 10 is how a wide activity works, not a leak.
  setMaxListeners(1000, signal);
  let details: Record<string, unknown> = {};
  const beat = () => context.heartbeat(details);
  beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    return await body({ signal, progress: (d) => (details = d) });
  } catch (err) {
    // The SDK reports the activity as cancelled only when it ends with the CancelledFailure.
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    clearInterval(timer);
  }
}
