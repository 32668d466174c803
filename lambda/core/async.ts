/** Async utilities of the tick: bounded parallelism, a deadline as an AbortSignal, a quiet iterator close. */
import { TransientError } from '../errors';

/** Runs `fn` over `items` with at most `concurrency` at once; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** An AbortSignal that fires after `ms` (real time) or when `parent` aborts. */
export function deadlineSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onParent = (): void => controller.abort(parent?.reason);
  const timer = setTimeout(
    () =>
      controller.abort(
        new TransientError(
          'The tick reached its time budget.',
          'Nothing to do: the next tick resumes from the checkpoint.',
        ),
      ),
    Math.max(0, ms),
  );
  timer.unref();
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

export async function closeQuietly(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The source's own clean-up failed; the page is abandoned either way.
  }
}
