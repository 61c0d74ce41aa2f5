/**
 * Counting semaphore with a FIFO queue. `fail` rejects everyone still waiting, so callers
 * queued on a connection that died get an error instead of waiting forever.
 */
export interface Limiter {
  acquire(): Promise<() => void>;
  fail(error: Error): void;
  readonly inUse: number;
  readonly waiting: number;
}

export function createLimiter(max: number, onIdle: () => void = () => undefined): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`limiter size must be a positive integer, got ${max}`);
  let inUse = 0;
  let failure: Error | undefined;
  const queue: { resolve: (release: () => void) => void; reject: (error: Error) => void }[] = [];

  const grant = (): (() => void) => {
    inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inUse--;
      const next = queue.shift();
      if (next !== undefined) next.resolve(grant());
      else if (inUse === 0) onIdle();
    };
  };

  return {
    acquire() {
      if (failure !== undefined) return Promise.reject(failure);
      if (inUse < max) return Promise.resolve(grant());
      return new Promise((resolve, reject) => queue.push({ resolve, reject }));
    },
    fail(error) {
      failure = error;
      for (const waiter of queue.splice(0)) waiter.reject(error);
    },
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
  };
}
