/** Reading answers within bounds: the start of a body, or nothing (dropping the rest frees the socket). */
import type { Dispatcher } from 'undici';

export type ResponseBody = Dispatcher.ResponseData['body'];

/** Drops the rest of a body (closing its socket if unread). */
export function discard(body: ResponseBody): void {
  if (!body.destroyed && !body.readableEnded) {
    body.destroy();
  }
}

/**
 * Up to `max` bytes of a body, then the rest is dropped. A read error rejects, unless `keepOnError`:
 * then what arrived before it is returned (an error answer cut short still classifies by its status).
 */
export async function readPrefix(body: ResponseBody, max: number, keepOnError = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= max) {
        break;
      }
    }
  } catch (error) {
    if (!keepOnError) throw error;
  } finally {
    discard(body);
  }
  return Buffer.concat(chunks).subarray(0, max);
}
