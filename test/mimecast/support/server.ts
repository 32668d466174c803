/** A loopback HTTP server for unit tests of the client: each test scripts the answers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RecordJson } from '../../../lambda/core/envelope';
import { RecordingLog } from '../../kit/log';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  requests: Recorded[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startServer(handler?: Handler): Promise<TestServer> {
  let current: Handler = handler ?? ((_, res) => void res.writeHead(500).end());
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: Recorded = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      Promise.resolve(current(recorded, res)).catch((err) => {
        res.destroy(err as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A budget of `ms` from now. */
export function budget(ms = 10_000, signal: AbortSignal = new AbortController().signal) {
  return { signal, deadline: Date.now() + ms };
}

export const v1Credentials = {
  apiVersion: 1 as const,
  appId: 'app-id-1',
  appKey: 'app-key-1',
  accessKey: 'access-key-1',
  secretKey: Buffer.from('secret-key-bytes-1').toString('base64'),
};

export const v2Credentials = {
  apiVersion: 2 as const,
  clientId: 'client-id-1',
  clientSecret: 'client-secret-1',
};

/** A Log that keeps what it was told. */
export function memoryLog(): RecordingLog {
  return new RecordingLog();
}

/** Collects a page's records. */
/** The record with a `RecordJson` event (SIEM files hand out each record's own text) read back to its value. */
export function withParsedEvent<T extends { event: unknown }>(record: T): T {
  return record.event instanceof RecordJson ? { ...record, event: JSON.parse(record.event.text) } : record;
}

/** `collect`, with every record's event as a value (`withParsedEvent`). */
export async function collectParsed<T extends { event: unknown }>(records: AsyncIterable<T>): Promise<T[]> {
  return (await collect(records)).map(withParsedEvent);
}

export async function collect<T>(records: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const record of records) {
    out.push(record);
  }
  return out;
}
