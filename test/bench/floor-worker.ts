/**
 * The transfer floor, one fresh process per measured run (bundled by run.ts like the collector worker).
 *
 * A minimal program that moves the same bytes as the collector did in its run, without parsing or
 * transforming them: it replays, in order, every request the simulator recorded from the collector (API
 * 1.0 calls signed afresh, API 2.0 calls with its own Bearer token, pre-signed batch files as recorded),
 * reads each answer to its end and throws it away, and posts to the receiver the same request bodies the
 * receiver got from the collector (gzip-compressed by the harness before this process starts, so no
 * compression happens here). Posts are interleaved with the reads in proportion, one request at a time,
 * as the collector does. Same HTTP client (undici, one keep-alive Agent) as the collector.
 *
 * Usage: node floor-worker.js <planPath> <resultPath> [--decoded]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { Agent, request } from 'undici';
import type { MimecastV1Credentials } from '../../lambda/secrets/credentials';
import { signedV1Headers } from '../simulator/signature';

export interface FloorRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  api?: 1 | 2;
}

export interface FloorPlan {
  simUrl: string;
  receiverUrl: string;
  v1Credentials?: MimecastV1Credentials;
  requests: FloorRequest[];
  /** File holding the sink bodies back to back; `bodySizes` cuts it. */
  bodiesPath: string;
  bodySizes: number[];
}

const MAX_WALL_MS = 240_000;

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.length;
  return bytes;
}

/** Size of an answer once decompressed (zip, gzip or plain); only in the untimed `--decoded` run. */
function decodedSize(body: Buffer): number {
  if (body[0] === 0x50 && body[1] === 0x4b) {
    return Object.values(unzipSync(body)).reduce((sum, member) => sum + member.length, 0);
  }
  if (body[0] === 0x1f && body[1] === 0x8b) return gunzipSync(body).length;
  return body.length;
}

async function main(): Promise<void> {
  const [planPath, resultPath, flag] = process.argv.slice(2);
  // The harness runs the floor once with --decoded to size the source; that run's timing is not used.
  const decodeMode = flag === '--decoded';
  let decodedBytes = 0;
  if (!planPath || !resultPath) throw new Error('usage: floor-worker <planPath> <resultPath>');
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as FloorPlan;
  const all = readFileSync(plan.bodiesPath);
  const bodies: Buffer[] = [];
  let offset = 0;
  for (const size of plan.bodySizes) {
    bodies.push(all.subarray(offset, offset + size));
    offset += size;
  }
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 16 });

  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  let bearer: string | undefined;
  let readBytes = 0;
  let postedBytes = 0;
  let posted = 0;
  const total = plan.requests.length;
  for (let i = 0; i < total; i++) {
    if (performance.now() - wallStart > MAX_WALL_MS) throw new Error('floor run over its time bound');
    const r = plan.requests[i]!;
    const url = new URL(plan.simUrl);
    url.pathname = r.path;
    url.search = new URLSearchParams(r.query).toString();
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'accept']) {
      if (r.headers[name] !== undefined) headers[name] = r.headers[name];
    }
    if (r.api === 1) {
      if (!plan.v1Credentials) throw new Error('API 1.0 request without credentials');
      const signed = signedV1Headers(plan.v1Credentials, r.path);
      headers.authorization = signed.authorization;
      headers['x-mc-date'] = signed['x-mc-date'];
      headers['x-mc-req-id'] = signed['x-mc-req-id'];
      headers['x-mc-app-id'] = signed['x-mc-app-id'];
    } else if (r.api === 2 && r.path !== '/oauth/token') {
      if (bearer === undefined) throw new Error('API 2.0 request before a token');
      headers.authorization = `Bearer ${bearer}`;
    }
    const res = await request(url, {
      method: r.method as 'GET' | 'POST',
      headers,
      body: r.method === 'GET' ? undefined : r.body,
      dispatcher,
    });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new Error(`${r.method} ${r.path} answered ${res.statusCode}: ${await res.body.text()}`);
    }
    if (r.path === '/oauth/token') {
      const text = await res.body.text();
      readBytes += Buffer.byteLength(text);
      bearer = (JSON.parse(text) as { access_token: string }).access_token;
    } else if (decodeMode) {
      const whole = Buffer.from(await res.body.arrayBuffer());
      readBytes += whole.length;
      if (r.api === 2 && r.path.startsWith('/siem/')) {
        // A batch listing, not log data.
      } else if (r.api === 1 && whole[0] === 0x7b) {
        // Mimecast's JSON "no more files" answer, not log data.
      } else {
        decodedBytes += decodedSize(whole);
      }
    } else {
      readBytes += await drain(res.body);
    }
    // Post the share of sink bodies that corresponds to the answers read so far.
    const due = Math.floor(((i + 1) * bodies.length) / total);
    while (posted < due) {
      const body = bodies[posted]!;
      const sent = await request(plan.receiverUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          'content-encoding': 'gzip',
          accept: 'application/json',
        },
        body,
        dispatcher,
      });
      await sent.body.text();
      if (sent.statusCode !== 200) throw new Error(`receiver answered ${sent.statusCode}`);
      postedBytes += body.length;
      posted += 1;
    }
  }
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  writeFileSync(
    resultPath,
    JSON.stringify({
      requests: total,
      posts: posted,
      readBytes,
      postedBytes,
      wallMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      ...(decodeMode ? { decodedBytes } : {}),
    }),
  );
  await dispatcher.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`floor worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
