/**
 * A pass-through proxy in front of dynalite that records every DynamoDB operation: its name, when,
 * and the item key it names (the cost report prices each write by the size of its item).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoCall {
  /** The operation, e.g. `UpdateItem`. */
  op: string;
  at: number;
  /** The request's `Key`, attribute values as strings, when it names one. */
  key?: Record<string, string>;
}

export interface DynamoProxy {
  url: string;
  calls: DynamoCall[];
  stop(): Promise<void>;
}

export async function countingDynamoProxy(target: string): Promise<DynamoProxy> {
  const calls: DynamoCall[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const op =
      String(req.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop() ?? 'unknown';
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      calls.push({ op, at: Date.now(), ...keyOf(body) });
      const upstream = http.request(
        `${target}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () =>
      new Promise<void>((done) => {
        agent.destroy();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

function keyOf(body: Buffer): { key?: Record<string, string> } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { Key?: Record<string, Record<string, unknown>> };
    if (parsed.Key === undefined) return {};
    return {
      key: Object.fromEntries(
        Object.entries(parsed.Key).map(([name, value]) => [name, String(Object.values(value)[0])]),
      ),
    };
  } catch {
    return {};
  }
}
