/**
 * `receive`'s HTTP side: a node:http server that only translates between HTTP and `receivePush`
 * (lambda/push/receiver.ts), the code the Function URL handler runs too. Reads at most the body limit
 * (plus one byte, to tell "too large"), so an oversized push is answered without being held.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PushReceiverDeps, type PushRequest, receivePush } from '../../lambda/push';

export interface PushServer {
  /** `http://host:port` */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startPushServer(
  host: string,
  port: number,
  deps: PushReceiverDeps,
): Promise<PushServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBounded(req, deps.limits.maxBodyBytes + 1);
      const request: PushRequest = {
        method: req.method ?? 'GET',
        path: new URL(req.url ?? '/', 'http://receiver').pathname,
        headers: lowerCaseHeaders(req),
        body: body ?? new Uint8Array(0),
        ...(body === undefined ? { oversizedBytes: deps.limits.maxBodyBytes + 1 } : {}),
      };
      const answer = await receivePush(request, deps);
      // A body left unread (too large) must not be taken for the next request on this connection.
      res.writeHead(
        answer.status,
        body === undefined ? { ...answer.headers, connection: 'close' } : answer.headers,
      );
      res.end(answer.body);
    })().catch((err: unknown) => {
      deps.log.error('Push receiver failed to answer', { error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ text: 'Internal server error', code: 8 }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    origin: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The body, or undefined once it passed `limit` bytes (reading stops there). */
function readBounded(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared >= limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length >= limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks, length))));
    req.on('error', reject);
  });
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
