import { createGunzip } from 'node:zlib';
import { CollectorError } from '../../errors';
import { DecodeError } from './errors';

/**
 * Gunzips a byte stream with node:zlib (strict: a truncated stream, a bad CRC or trailing garbage are
 * errors; fflate's Gunzip accepts some of those). Backpressure holds: the source is read only as fast as
 * the output is consumed. Source failures (already typed) pass through; zlib failures become DecodeError.
 */
export async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = createGunzip();
  const feed = (async () => {
    try {
      for await (const chunk of source) {
        if (z.destroyed) {
          return;
        }
        if (!z.write(chunk)) {
          await drainOrClose(z);
        }
      }
      z.end();
    } catch (err) {
      z.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  try {
    for await (const out of z) {
      yield out as Uint8Array;
    }
  } catch (err) {
    if (err instanceof CollectorError) {
      throw err;
    }
    throw new DecodeError(
      `Invalid gzip data: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  } finally {
    z.destroy();
    // The feeder ends by itself once the source is released by the caller.
    feed.catch(() => undefined);
  }
}

/** Resolves on the next `drain` or `close`, leaving no listener behind. */
function drainOrClose(z: ReturnType<typeof createGunzip>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      z.off('drain', done);
      z.off('close', done);
      resolve();
    };
    z.on('drain', done);
    z.on('close', done);
  });
}
