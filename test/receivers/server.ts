/** The HTTP machinery every receiver shares: recording, fault injection, body decoding, output files. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Fault, Product, Receiver, RecordedRequest, Reply } from './types';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Faults the server machinery handles itself, before the product sees the request. */
const INFRA_FAULTS = new Set<Fault['kind']>(['status', 'hang', 'reset', 'redirect']);

/** What the machinery needs from the options (the Entra token endpoint uses it too, with its own kind). */
export interface ServeOptions<K extends string> {
  kind: K;
  outputDir?: string;
  port?: number;
  maxBodyBytes?: number;
}

export async function serve<K extends string>(
  options: ServeOptions<K>,
  product: Product,
): Promise<Receiver<K>> {
  const maxWireBytes = options.maxBodyBytes ?? product.limits?.wireBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxDecodedBytes = options.maxBodyBytes ?? product.limits?.decodedBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tooLarge = (stage: 'wire' | 'decoded', limit: number, bytes?: number): Reply =>
    withHeaders(
      product.tooLarge?.({ stage, limit, bytes }) ??
        product.statusReply(
          413,
          bytes === undefined
            ? `more than ${limit} bytes${stage === 'decoded' ? ' once decompressed' : ''}`
            : `${bytes} > ${limit}`,
        ),
      { connection: 'close' },
    );
  const faults: Fault[] = [];
  const requests: RecordedRequest[] = [];
  const accepted: AcceptedItem[] = [];
  const timers = new Set<NodeJS.Timeout>();
  if (options.outputDir !== undefined) {
    mkdirSync(options.outputDir, { recursive: true });
  }

  const write = (res: ServerResponse, record: RecordedRequest, reply: Reply) => {
    record.status = reply.status;
    record.answer = reply.body;
    if (res.writableEnded || res.destroyed) {
      return;
    }
    res.writeHead(reply.status, {
      'content-type': reply.contentType ?? 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(reply.body),
      ...reply.headers,
    });
    res.end(reply.body);
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const ingest = product.isIngest(method, url.pathname);
    const record: RecordedRequest = {
      call: requests.length + 1,
      ingest,
      method,
      path: url.pathname,
      query: url.search,
      headers: { ...req.headers },
      wireBytes: 0,
      body: '',
      remotePort: req.socket.remotePort,
      receivedAt: Date.now(),
    };
    requests.push(record);
    const fault = ingest ? faults.shift() : undefined;
    if (fault !== undefined && fault.kind !== 'pass') {
      record.fault = fault.kind;
    }

    if (fault?.kind === 'reset') {
      // RST as soon as body bytes arrive (or at once for an empty body): a connection reset mid-request.
      const reset = () => req.socket.resetAndDestroy();
      req.once('data', reset);
      req.once('end', reset);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxWireBytes) {
      // Refuse without reading, as real servers do; the connection cannot be reused after that.
      write(res, record, tooLarge('wire', maxWireBytes, declared));
      req.resume();
      return;
    }
    const { body: raw, size } = await readBody(req, maxWireBytes);
    record.wireBytes = size;
    if (raw === undefined) {
      write(res, record, tooLarge('wire', maxWireBytes, size));
      return;
    }
    if (fault?.kind === 'hang') {
      return;
    }
    if (fault?.kind === 'delay') {
      await wait(fault.ms);
    }
    if (fault?.kind === 'status') {
      const reply =
        fault.body === undefined
          ? product.statusReply(fault.status)
          : { status: fault.status, body: fault.body, contentType: fault.contentType ?? 'text/plain' };
      write(res, record, withHeaders(reply, retryAfterHeader(fault.retryAfter)));
      return;
    }
    if (fault?.kind === 'redirect') {
      write(res, record, { status: fault.status ?? 307, body: '', headers: { location: fault.location } });
      return;
    }
    const decoded = decode(
      raw,
      req.headers['content-encoding'],
      maxDecodedBytes,
      product.encodings ?? ['gzip'],
    );
    if ('problem' in decoded) {
      const reply =
        decoded.problem === 'too-large'
          ? tooLarge('decoded', maxDecodedBytes)
          : decoded.problem === 'unsupported'
            ? product.statusReply(415, `Content-Encoding ${decoded.encoding} is not supported`)
            : product.statusReply(400, `body is not valid ${decoded.encoding}`);
      write(res, record, reply);
      return;
    }
    record.body = decoded.text;
    if (!ingest) {
      write(
        res,
        record,
        product.other(method, url.pathname, {
          query: url.searchParams,
          headers: req.headers,
          body: decoded.text,
        }),
      );
      return;
    }
    const denied = product.authorize(req.headers, url.pathname);
    if (denied !== undefined) {
      write(res, record, denied);
      return;
    }
    const productFault = fault !== undefined && !INFRA_FAULTS.has(fault.kind) ? fault : undefined;
    const result = product.ingest({
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: decoded.text,
      fault: productFault,
    });
    accepted.push(...result.accepted);
    if (result.warning !== undefined) {
      record.warning = result.warning;
    }
    if (options.outputDir !== undefined) {
      writeOutput(options.outputDir, result.accepted);
    }
    const retryAfter = productFault?.kind === 'hec-code' ? retryAfterHeader(productFault.retryAfter) : {};
    write(res, record, withHeaders(result.reply, retryAfter));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`receiver error: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    kind: options.kind,
    hec: product.hec,
    url: `${origin}${product.ingestPath}`,
    origin,
    port,
    received: () => accepted.map((item) => item.envelope),
    ids: () => accepted.map((item) => item.id),
    items: () => [...accepted],
    inject: (...more) => {
      faults.push(...more);
    },
    pendingFaults: () => faults.length,
    requests: () => requests.map((r) => ({ ...r })),
    ingestRequests: () => requests.filter((r) => r.ingest).map((r) => ({ ...r })),
    reset: () => {
      faults.length = 0;
      requests.length = 0;
      accepted.length = 0;
      product.reset();
    },
    stop: async () => {
      for (const timer of timers) {
        clearTimeout(timer);
      }
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hanging requests and idle keep-alive sockets would hold close() open.
      server.closeAllConnections();
      await closed;
    },
  };
}

function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

function retryAfterHeader(value: number | string | undefined): Record<string, string> {
  return value === undefined ? {} : { 'retry-after': String(value) };
}

/**
 * The whole body and its size on the wire; `body` is undefined once the size passes `limit` (the rest
 * is drained and counted, not kept).
 */
async function readBody(req: IncomingMessage, limit: number): Promise<{ body?: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) {
      chunks.push(chunk as Buffer);
    }
  }
  return size > limit ? { size } : { body: Buffer.concat(chunks), size };
}

type Decoded = { text: string } | { problem: 'unsupported' | 'invalid' | 'too-large'; encoding: string };

function decode(
  raw: Buffer,
  encoding: string | undefined,
  limit: number,
  accepted: readonly string[],
): Decoded {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') {
    return raw.length > limit ? { problem: 'too-large', encoding: name } : { text: raw.toString('utf8') };
  }
  if (!accepted.includes(name)) {
    return { problem: 'unsupported', encoding: name };
  }
  try {
    // HTTP's `deflate` is zlib-wrapped (RFC 9110 8.4.1.2), which inflateSync expects.
    const inflate = name === 'gzip' ? gunzipSync : inflateSync;
    return { text: inflate(raw, { maxOutputLength: limit }).toString('utf8') };
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    return { problem: tooLarge ? 'too-large' : 'invalid', encoding: name };
  }
}

/** A stream id safe as a file name; anything else goes to `unknown.ndjson`. */
function fileNameFor(envelope: Envelope): string {
  const stream = typeof envelope.stream === 'string' ? envelope.stream : '';
  return /^[a-z0-9][a-z0-9-]{0,63}$/.test(stream) ? `${stream}.ndjson` : 'unknown.ndjson';
}

function writeOutput(dir: string, items: AcceptedItem[]): void {
  const byFile = new Map<string, string[]>();
  for (const { envelope } of items) {
    const name = fileNameFor(envelope);
    const lines = byFile.get(name) ?? [];
    lines.push(JSON.stringify(envelope));
    byFile.set(name, lines);
  }
  for (const [name, lines] of byFile) {
    // Synchronous, before the answer: once the sink has its acknowledgement, the file holds the events.
    appendFileSync(join(dir, name), `${lines.join('\n')}\n`);
  }
}
