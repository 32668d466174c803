/**
 * A minimal Mimecast client for the simulator's own tests: it follows the reference, not the simulator's
 * code, so the tests check the wire behaviour. (The collector's real client lives in lambda/mimecast/.)
 */
import { gunzipSync } from 'node:zlib';
import { strFromU8, unzipSync } from 'fflate';
import { request } from 'undici';
import type { RunningSimulator } from './index';
import { type SignedHeaderOptions, signedV1Headers } from './signature';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export async function http(
  url: string,
  init: { method?: 'GET' | 'POST' | 'DELETE'; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

// biome-ignore lint/suspicious/noExplicitAny: test helper returning parsed wire JSON
export function json(result: HttpResult): any {
  return JSON.parse(result.body.toString('utf8'));
}

export function header(result: HttpResult, name: string): string | undefined {
  const value = result.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface Caller {
  /** POST to an `/api/...` path with a JSON body. */
  post(path: string, body: unknown, extraHeaders?: Record<string, string>): Promise<HttpResult>;
}

export function v1Caller(
  sim: RunningSimulator,
  clock: () => number = Date.now,
  sign: SignedHeaderOptions = {},
): Caller {
  return {
    post: (path, body, extraHeaders = {}) =>
      http(sim.url + path, {
        method: 'POST',
        headers: { ...signedV1Headers(sim.credentials.v1, path, { at: clock(), ...sign }), ...extraHeaders },
        body: JSON.stringify(body),
      }),
  };
}

export async function fetchToken(sim: RunningSimulator): Promise<string> {
  const result = await http(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: sim.credentials.v2.clientId,
      client_secret: sim.credentials.v2.clientSecret,
      grant_type: 'client_credentials',
    }).toString(),
  });
  if (result.status !== 200)
    throw new Error(`token request failed: ${result.status} ${result.body.toString()}`);
  return json(result).access_token;
}

export async function v2Caller(
  sim: RunningSimulator,
): Promise<Caller & { token: string; get(pathAndQuery: string): Promise<HttpResult> }> {
  const token = await fetchToken(sim);
  const auth = { authorization: `Bearer ${token}`, accept: 'application/json' };
  return {
    token,
    post: (path, body, extraHeaders = {}) =>
      http(sim.url + path, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', ...extraHeaders },
        body: JSON.stringify(body),
      }),
    get: (pathAndQuery) => http(sim.url + pathAndQuery, { headers: auth }),
  };
}

export async function callerFor(sim: RunningSimulator, api: 1 | 2, clock?: () => number): Promise<Caller> {
  return api === 1 ? v1Caller(sim, clock) : v2Caller(sim);
}

/** The records list of a paged log response (`data[]` directly for audit, `data[0].<key>` otherwise). */
export function pageRecords(
  body: { data: unknown[] },
  listKey: string | undefined,
): Record<string, unknown>[] {
  if (listKey === undefined) return body.data as Record<string, unknown>[];
  const first = body.data[0] as Record<string, unknown> | undefined;
  return (first?.[listKey] as Record<string, unknown>[] | undefined) ?? [];
}

export interface WalkResult {
  records: Record<string, unknown>[];
  pages: number;
}

/**
 * Walks a paged log endpoint from the first page to the end, like a collector: stops when `next` is
 * absent or a page is empty. `resendData` re-sends data[] with every token (XSOAR style) or not (ELASTIC v1).
 */
export async function walkLogs(
  caller: Caller,
  path: string,
  item: Record<string, unknown>,
  listKey: string | undefined,
  options: { pageSize?: number | string; resendData?: boolean; maxPages?: number } = {},
): Promise<WalkResult> {
  const records: Record<string, unknown>[] = [];
  let token: string | undefined;
  const maxPages = options.maxPages ?? 10_000;
  for (let pages = 1; pages <= maxPages; pages++) {
    const pagination: Record<string, unknown> = {};
    if (options.pageSize !== undefined) pagination.pageSize = options.pageSize;
    if (token) pagination.pageToken = token;
    const body: Record<string, unknown> = { meta: { pagination } };
    if (!token || options.resendData) body.data = [item];
    const result = await caller.post(path, body);
    if (result.status !== 200) throw new Error(`${path}: HTTP ${result.status} ${result.body.toString()}`);
    const parsed = json(result);
    if (parsed.fail.length > 0) throw new Error(`${path}: fail ${JSON.stringify(parsed.fail)}`);
    const page = pageRecords(parsed, listKey);
    records.push(...page);
    token = parsed.meta.pagination?.next;
    if (!token || page.length === 0) return { records, pages };
  }
  throw new Error(`${path}: more than ${maxPages} pages`);
}

export interface SiemV1File {
  fileName: string;
  token: string;
  records: Record<string, unknown>[];
}

/** Parses a key_value file: records start with `datetime=`, fields split on `|`, key and value on the first `=`. */
export function parseKeyValue(text: string): Record<string, string>[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.startsWith('datetime='))
    .map((line) =>
      Object.fromEntries(
        line.split('|').map((field) => {
          const at = field.indexOf('=');
          return [field.slice(0, at), field.slice(at + 1)];
        }),
      ),
    );
}

/** Decodes a v1 SIEM file body by content (zip magic or not), as a robust client does. */
export function decodeV1File(body: Buffer, format: 'json' | 'key_value'): Record<string, unknown>[] {
  let text: string;
  if (body.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    const members = Object.values(unzipSync(body));
    if (members.length !== 1) throw new Error(`expected one zip member, got ${members.length}`);
    text = strFromU8(members[0]);
  } else {
    text = body.toString('utf8');
  }
  return format === 'json' ? JSON.parse(text).data : parseKeyValue(text);
}

export function fileNameOf(result: HttpResult): string {
  const disposition = header(result, 'content-disposition') ?? '';
  return disposition.split('="')[1]?.replace(/"$/, '') ?? '';
}

/** Follows get-siem-logs from `token` (none: the earliest file) until the "no more files" answer. */
export async function walkSiemV1(
  caller: Caller,
  options: { format: 'json' | 'key_value'; compress: boolean; token?: string; maxFiles?: number },
): Promise<{ files: SiemV1File[]; lastToken?: string; end: HttpResult }> {
  const files: SiemV1File[] = [];
  let token = options.token;
  const maxFiles = options.maxFiles ?? 100_000;
  for (let i = 0; i < maxFiles; i++) {
    const item: Record<string, unknown> = {
      type: 'MTA',
      fileFormat: options.format,
      compress: options.compress,
    };
    if (token) item.token = token;
    const result = await caller.post('/api/audit/get-siem-logs', { data: [item] });
    if (result.status !== 200)
      throw new Error(`get-siem-logs: HTTP ${result.status} ${result.body.toString()}`);
    if ((header(result, 'content-type') ?? '').startsWith('application/json')) {
      const parsed = json(result);
      if (parsed.fail.length > 0) throw new Error(`get-siem-logs: fail ${JSON.stringify(parsed.fail)}`);
      return { files, lastToken: token, end: result };
    }
    const next = header(result, 'mc-siem-token');
    if (!next) throw new Error('file without mc-siem-token');
    files.push({
      fileName: fileNameOf(result),
      token: next,
      records: decodeV1File(result.body, options.format),
    });
    token = next;
  }
  throw new Error(`more than ${maxFiles} files`);
}

export interface BatchFile {
  url: string;
  size: number;
  expiry: string;
}

/** Follows the batch listing until isCaughtUp; returns the files and the last @nextPage. */
export async function listBatches(
  get: (pathAndQuery: string) => Promise<HttpResult>,
  options: {
    pageSize?: number;
    type?: string;
    nextPage?: string;
    maxPages?: number;
    feed?: 'cg' | 'ci';
  } = {},
): Promise<{ files: BatchFile[]; nextPage: string; pages: number }> {
  const files: BatchFile[] = [];
  let nextPage = options.nextPage;
  const maxPages = options.maxPages ?? 10_000;
  for (let pages = 1; pages <= maxPages; pages++) {
    const query = new URLSearchParams();
    if (options.pageSize !== undefined) query.set('pageSize', String(options.pageSize));
    if (options.type) query.set('type', options.type);
    if (nextPage) query.set('nextPage', nextPage);
    const result = await get(`/siem/v1/batch/events/${options.feed ?? 'cg'}?${query.toString()}`);
    if (result.status !== 200)
      throw new Error(`batch listing: HTTP ${result.status} ${result.body.toString()}`);
    const parsed = json(result);
    files.push(...parsed.value);
    nextPage = parsed['@nextPage'];
    if (typeof nextPage !== 'string') throw new Error('listing without @nextPage');
    if (parsed.isCaughtUp) return { files, nextPage, pages };
  }
  throw new Error(`more than ${maxPages} listing pages`);
}

/** Downloads a batch file without credentials and decodes gzip NDJSON. */
export async function downloadBatch(file: BatchFile): Promise<Record<string, unknown>[]> {
  const result = await http(file.url);
  if (result.status !== 200) throw new Error(`batch file: HTTP ${result.status} ${result.body.toString()}`);
  return gunzipSync(result.body)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

/** Follows the threat feed with x-mc-threat-feed-next-token until it stops; returns all STIX objects. */
export async function walkFeed(
  caller: Caller,
  feedType: 'malware_customer' | 'malware_grid',
  extra: Record<string, unknown> = {},
): Promise<{ objects: Record<string, unknown>[]; calls: number }> {
  const objects: Record<string, unknown>[] = [];
  let token: string | undefined;
  for (let calls = 1; calls <= 10_000; calls++) {
    const item: Record<string, unknown> = { feedType, fileType: 'stix', ...extra };
    if (token) item.token = token;
    const result = await caller.post('/api/ttp/threat-intel/get-feed', { data: [item] });
    if (result.status !== 200) throw new Error(`get-feed: HTTP ${result.status} ${result.body.toString()}`);
    const bundle = json(result);
    if (bundle.type !== 'bundle')
      throw new Error(`get-feed: not a bundle: ${result.body.toString().slice(0, 200)}`);
    objects.push(...bundle.objects);
    token = header(result, 'x-mc-threat-feed-next-token');
    if (!token) return { objects, calls };
  }
  throw new Error('feed did not end');
}

/** A mutable clock for tests that move time. */
export function testClock(start = Date.UTC(2025, 5, 5, 12, 0, 0)): {
  now: () => number;
  advance(ms: number): void;
} {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
  };
}
