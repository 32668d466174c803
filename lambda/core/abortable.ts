/**
 * Waiting that a caller can cut short: the engine's throttle waits and the HTTP layer's retry backoff
 * (lambda/http/retry.ts) use the one sleep here, so an aborted tick never sits out a timer.
 */

/** Resolves after `ms`, or as soon as `signal` aborts (at once when it already has): check `signal.aborted`. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
