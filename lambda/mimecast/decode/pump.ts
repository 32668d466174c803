/** A FIFO that records are pushed into by the synchronous decoders and taken out by async iterators. */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** The oldest item; call only when size > 0. */
  shift(): T {
    const item = this.items[this.head];
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return item;
  }
}

export interface PushDecoder {
  push(chunk: Uint8Array): void;
  end(): void;
  /**
   * At most this many input bytes at once, for a decoder whose output can be far larger than its
   * input (a zip member inflates up to about 1000 times). Unset: whole chunks.
   */
  readonly maxPushBytes?: number;
}

export interface DecodeOptions {
  /** Turns a failure (source or decoder) into the error to throw. */
  mapError?: (err: unknown) => unknown;
  /** Runs after the decoder ended cleanly, before the iteration reports done. */
  onEnd?: () => void;
}

/**
 * Feeds source chunks to a push decoder (in slices of its `maxPushBytes`, when it sets one) and hands
 * out what it queued. The next chunk or slice is pushed only once the consumer took every record of
 * the previous one, so memory stays bounded by what one of them decodes to. One hand-written iterator
 * rather than nested async generators: one promise per record.
 */
export function decodeRecords<T>(
  source: AsyncIterable<Uint8Array>,
  decoder: PushDecoder,
  queue: Queue<T>,
  options: DecodeOptions = {},
): AsyncIterableIterator<T> {
  const chunks = source[Symbol.asyncIterator]();
  const sliceBytes = decoder.maxPushBytes ?? Number.POSITIVE_INFINITY;
  let finished = false;
  // What is left of the current chunk, pushed a slice at a time.
  let rest: Uint8Array | undefined;
  const fail = (err: unknown) => {
    finished = true;
    rest = undefined;
    return options.mapError ? options.mapError(err) : err;
  };
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (queue.size > 0) {
          return { value: queue.shift(), done: false };
        }
        if (rest !== undefined) {
          const slice = rest.length > sliceBytes ? rest.subarray(0, sliceBytes) : rest;
          rest = rest.length > sliceBytes ? rest.subarray(sliceBytes) : undefined;
          try {
            decoder.push(slice);
          } catch (err) {
            await chunks.return?.();
            throw fail(err);
          }
          continue;
        }
        if (finished) {
          return { value: undefined, done: true };
        }
        let chunk: IteratorResult<Uint8Array>;
        try {
          chunk = await chunks.next();
        } catch (err) {
          throw fail(err);
        }
        if (!chunk.done) {
          rest = chunk.value;
          continue;
        }
        try {
          finished = true;
          decoder.end();
          options.onEnd?.();
        } catch (err) {
          await chunks.return?.();
          throw fail(err);
        }
      }
    },
    async return(): Promise<IteratorResult<T>> {
      finished = true;
      rest = undefined;
      await chunks.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Reads at least `n` bytes (or all there is) and returns them with a stream that replays them first. */
export async function peek(
  source: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    buffered.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(buffered).subarray(0, n);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      yield* buffered;
      while (!done) {
        const next = await iterator.next();
        if (next.done) {
          break;
        }
        yield next.value;
      }
    } finally {
      // Stopping early releases the underlying body.
      await iterator.return?.();
    }
  }
  return { head, rest: rest() };
}
