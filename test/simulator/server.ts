/**
 * The HTTP side: loopback listener, routing, authentication, quotas, fault injection, request recording
 * and the loopback-only admin endpoints.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { STREAM_IDS } from '../../lambda/core/streams';
import { handleAwarenessRequest, isAwarenessPath } from './awareness';
import type { SimContext, SimRequest } from './context';
import { parseEnvelope } from './envelope';
import { FaultBook, type FaultRule, type FiredFault, faultRuleJsonSchema } from './faults';
import { handleLogRequest, logEndpointPaths } from './log-endpoints';
import { pagedRequest, withContinuation } from './paging-faults';
import {
  type Dialect,
  dialectOf,
  emptyResponse,
  errorInDialect,
  gatewayPage,
  jsonResponse,
  type SimResponse,
  s3Error,
  throttleResponse,
  v1Failure,
} from './responses';
import { handleV1SiemRequest, invalidSiemToken } from './siem-v1-endpoint';
import {
  handleBatchFileDownload,
  handleBatchListing,
  handleStreamingEvents,
  isBatchFilePath,
} from './siem-v2-endpoints';
import { handleThreatFeedRequest } from './threat-feed-endpoint';
import { authenticateV1 } from './v1-auth';
import { authenticateBearer, handleTokenRequest } from './v2-auth';

export const LOOPBACK_HOST = '127.0.0.1';
const MAX_BODY_BYTES = 1024 * 1024;
const RECORDED_BODY_CHARS = 64 * 1024;

export interface RecordedRequest {
  method: string;
  /** Path as sent, without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Request body as text (first 64 KiB). */
  body: string;
  /** HTTP status sent; 0 while the answer is still under way. */
  status: number;
  /** 1 for MC-signed calls, 2 for Bearer, /oauth/token and /siem calls; absent for batch file downloads. */
  api?: 1 | 2;
  /** Kind of the injected fault that shaped the answer, if any. */
  fault?: string;
  /** Simulator clock when the request arrived. */
  at: number;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(address);
}

/** Reads the body; beyond MAX_BODY_BYTES it keeps draining (so a 413 can still be sent) but stores nothing. */
function readBody(request: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > MAX_BODY_BYTES }));
    request.on('error', reject);
  });
}

const publishSchema = z.strictObject({
  stream: z.enum(STREAM_IDS),
  count: z.int().positive().max(1_000_000),
  lateBySeconds: z.number().nonnegative().optional(),
  api: z.union([z.literal(1), z.literal(2)]).optional(),
  identical: z.boolean().optional(),
});

export class SimulatorServer {
  private readonly server: Server;
  private readonly faults = new FaultBook();
  private recorded: RecordedRequest[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;
  /** The last answer of each paged channel (`paging-faults.ts`), for the `repeat-page` fault. */
  private readonly lastAnswers = new Map<string, SimResponse>();
  private reissued = 0;

  constructor(private readonly context: SimContext) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          const body = Buffer.from(JSON.stringify({ error: String(error) }));
          res.writeHead(500, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        } else {
          res.destroy();
        }
      });
    });
    // Bounds how long a slow or stuck client can hold a request open.
    this.server.requestTimeout = 60_000;
    this.server.headersTimeout = 20_000;
    // A slow reader (the benchmark under load) may pause between requests longer than Node's 5 s default.
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, LOOPBACK_HOST, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  get url(): string {
    return `http://${LOOPBACK_HOST}:${this.port}`;
  }

  inject(rule: FaultRule): number {
    return this.faults.inject(rule, this.context.now());
  }

  clearFaults(): void {
    this.faults.clear();
  }

  requests(): RecordedRequest[] {
    return this.recorded.map((entry) => ({
      ...entry,
      headers: { ...entry.headers },
      query: { ...entry.query },
    }));
  }

  clearRequests(): void {
    this.recorded = [];
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    const method = (req.method ?? 'GET').toUpperCase();

    if (path.startsWith('/__admin/')) {
      const { body } = await readBody(req);
      this.send(res, this.admin(method, path, query, body, req.socket.remoteAddress), undefined);
      return;
    }

    const startedAt = Date.now();
    const dialect = dialectOf(path, req.headers);
    const api = dialect === 'v1' ? 1 : dialect === 's3' ? undefined : 2;
    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(query),
      headers: { ...req.headers },
      body: '',
      status: 0,
      ...(api === undefined ? {} : { api }),
      at: this.context.now(),
    };
    this.recorded.push(record);
    const max = this.context.options.maxRecordedRequests;
    if (this.recorded.length > max) this.recorded.splice(0, this.recorded.length - max);
    res.on('close', () => {
      this.context.options.onRequestLog?.(
        `${method} ${path} -> ${res.statusCode} (${Date.now() - startedAt} ms)${record.fault ? ` fault=${record.fault}` : ''}`,
      );
    });

    const { body, tooLarge } = await readBody(req);
    if (tooLarge) {
      const tooLargeResponse = errorInDialect(dialect, 413, {
        code: 'err_request_too_large',
        message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes`,
        retryable: false,
      });
      record.status = tooLargeResponse.status;
      this.send(res, tooLargeResponse, undefined);
      return;
    }
    record.body = body.toString('utf8', 0, Math.min(body.length, RECORDED_BODY_CHARS));
    const request: SimRequest = { method, path, query, headers: req.headers, body };

    const fault = this.faults.next({ method, path, api }, this.context.now());
    if (fault) record.fault = fault.kind;
    if (fault?.kind === 'delay' && fault.phase !== 'mid-body') await this.sleep(fault.ms);
    if (res.destroyed) return;

    let response = this.faultResponse(fault, dialect, request) ?? this.route(request, dialect);
    if (fault?.kind === 'malformed-json') response = malformed(response);
    if (response.status === 200) response = this.paging(request, response, fault);
    record.status = response.status;
    this.send(res, response, fault);
  }

  /** Faults that replace the answer altogether. */
  private faultResponse(
    fault: FiredFault | undefined,
    dialect: Dialect,
    request: SimRequest,
  ): SimResponse | undefined {
    if (!fault) return undefined;
    const now = this.context.now();
    switch (fault.kind) {
      case 'throttle':
        return throttleResponse(dialect, fault.hint ?? 'reset-ms', fault.waitMs ?? 1000, now);
      case 'status':
        return statusFault(fault, dialect);
      case 'fail-200': {
        const error = { code: fault.code, message: fault.message ?? fault.code, retryable: fault.retryable };
        if (dialect === 'siem' || dialect === 'oauth')
          return jsonResponse(200, { fail: [{ code: error.code, message: error.message }] });
        return v1Failure(200, [error], itemOf(request));
      }
      case 'invalid-siem-token':
        return invalidSiemToken(this.context, itemOf(request));
      case 'expire-batch-url':
        return isBatchFilePath(request.path)
          ? handleBatchFileDownload(request, this.context, true)
          : s3Error(403, 'AccessDenied', 'Request has expired');
      default:
        return undefined;
    }
  }

  /**
   * Remembers each paged channel's last answer and applies the paging faults: `stuck-token` hands back
   * the request's own token, `repeat-page` serves the channel's previous answer with a fresh token.
   */
  private paging(request: SimRequest, response: SimResponse, fault: FiredFault | undefined): SimResponse {
    const paged = pagedRequest(request);
    if (paged === undefined) return response;
    const previous = this.lastAnswers.get(paged.channel);
    if (fault?.kind === 'stuck-token' && paged.token !== undefined) {
      return withContinuation(response, paged.place, paged.token);
    }
    if (fault?.kind === 'repeat-page' && paged.token !== undefined && previous !== undefined) {
      this.reissued += 1;
      const fresh = this.context.sealer.reseal(paged.token, this.reissued) ?? paged.token;
      return withContinuation(previous, paged.place, fresh);
    }
    this.lastAnswers.set(paged.channel, response);
    return response;
  }

  private route(request: SimRequest, dialect: Dialect): SimResponse {
    const { path, method } = request;
    const context = this.context;
    if (path === '/oauth/token') return handleTokenRequest(request, context);
    if (isBatchFilePath(path)) return handleBatchFileDownload(request, context, false);

    if (path.startsWith('/siem/')) {
      const auth = authenticateBearer(request, context);
      if (!auth.ok) return auth.response;
      const quota = this.quota(auth.identity, dialect);
      if (quota.response) return quota.response;
      if (method !== 'GET')
        return errorInDialect('siem', 405, {
          code: 'Method Not Allowed',
          message: 'Use GET',
          retryable: false,
        });
      if (path === '/siem/v1/batch/events/cg') return handleBatchListing(request, context, 'cg');
      if (path === '/siem/v1/batch/events/ci') return handleBatchListing(request, context, 'ci');
      if (path === '/siem/v1/events/cg') return handleStreamingEvents(request, context);
      return errorInDialect('siem', 404, {
        code: 'Not Found',
        message: `No such endpoint: ${path}`,
        retryable: false,
      });
    }

    if (path.startsWith('/api/')) {
      const auth = dialect === 'v1' ? authenticateV1(request, context) : authenticateBearer(request, context);
      if (!auth.ok) return auth.response;
      const quota = this.quota(auth.identity, dialect);
      if (quota.response) return quota.response;
      const withQuota = (response: SimResponse) => ({
        ...response,
        headers: { ...response.headers, ...quota.headers },
      });
      if (method !== 'POST') {
        return withQuota(
          errorInDialect(dialect, 405, {
            code: 'err_method_not_allowed',
            message: 'Use POST for API 1.0 style endpoints',
            retryable: false,
          }),
        );
      }
      const logStream = logEndpointPaths(context).get(path);
      if (logStream) return withQuota(handleLogRequest(logStream, request, context));
      if (path === '/api/audit/get-siem-logs' && dialect === 'v1')
        return withQuota(handleV1SiemRequest(request, context));
      if (path === '/api/ttp/threat-intel/get-feed')
        return withQuota(handleThreatFeedRequest(request, context));
      if (isAwarenessPath(path)) return withQuota(handleAwarenessRequest(request, context));
      return withQuota(
        v1Failure(404, [
          { code: 'err_resource_not_found', message: `No such endpoint: ${path}`, retryable: false },
        ]),
      );
    }
    return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  }

  /** The per-user/app quota (docs/mimecast-api.md C.3: v1 always sends X-RateLimit-* headers once a quota applies). */
  private quota(
    identity: string,
    dialect: Dialect,
  ): { response?: SimResponse; headers: Record<string, string> } {
    const limiter = this.context.callQuota;
    if (!limiter) return { headers: {} };
    const now = this.context.now();
    const result = limiter.take(identity, now);
    const hint = dialect === 'v1' ? 'reset-ms' : this.context.options.variants.v2RateLimitHint;
    if (!result.allowed)
      return { response: throttleResponse(dialect, hint, result.waitMs, now, limiter.capacity), headers: {} };
    if (dialect !== 'v1') return { headers: {} };
    return {
      headers: {
        'x-ratelimit-limit': String(limiter.capacity),
        'x-ratelimit-remaining': String(result.remaining),
        'x-ratelimit-reset': String(result.resetMs),
      },
    };
  }

  private send(res: ServerResponse, response: SimResponse, fault: FiredFault | undefined): void {
    const { body } = response;
    res.writeHead(response.status, { ...response.headers, 'content-length': String(body.length) });
    const socket = res.socket;
    if (!fault || body.length === 0 || !socket) {
      res.end(body);
      return;
    }
    if (fault.kind === 'truncate' || fault.kind === 'reset') {
      const part = body.subarray(0, Math.max(1, Math.floor(body.length * (fault.keepFraction ?? 0.5))));
      res.write(part, () => {
        if (fault.kind === 'reset') socket.resetAndDestroy();
        else socket.end();
      });
      return;
    }
    if (fault.kind === 'delay' && fault.phase === 'mid-body') {
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!res.destroyed) res.end(body.subarray(half));
      }, fault.ms);
      this.timers.add(timer);
      return;
    }
    res.end(body);
  }

  private admin(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Buffer,
    remoteAddress: string | undefined,
  ): SimResponse {
    if (!isLoopbackAddress(remoteAddress)) {
      return jsonResponse(403, { error: 'The admin endpoints answer loopback clients only' });
    }
    const context = this.context;
    const json = (): unknown => {
      try {
        return JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return undefined;
      }
    };
    const problems = (error: z.ZodError) =>
      jsonResponse(400, { error: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
    if (method === 'GET' && path === '/__admin/ground-truth') {
      const stream = z.enum(STREAM_IDS).safeParse(query.get('stream'));
      const api = query.get('api') ?? '2';
      if (!stream.success || (api !== '1' && api !== '2')) {
        return jsonResponse(400, { error: `stream must be one of ${STREAM_IDS.join(', ')}; api 1 or 2` });
      }
      return jsonResponse(200, context.data.groundTruth(stream.data, api === '1' ? 1 : 2));
    }
    if (method === 'POST' && path === '/__admin/publish') {
      const parsed = publishSchema.safeParse(json());
      if (!parsed.success) return problems(parsed.error);
      const { stream, count, lateBySeconds = 0, api, identical = false } = parsed.data;
      const records = context.data.publish(stream, count, lateBySeconds, api, identical);
      return jsonResponse(200, { published: records.length });
    }
    if (path === '/__admin/faults' && method === 'POST') {
      const parsed = faultRuleJsonSchema.safeParse(json());
      if (!parsed.success) return problems(parsed.error);
      return jsonResponse(200, { rule: this.inject(parsed.data) });
    }
    if (path === '/__admin/faults' && method === 'DELETE') {
      this.clearFaults();
      return emptyResponse(204);
    }
    if (method === 'GET' && path === '/__admin/requests') return jsonResponse(200, this.requests());
    if (method === 'POST' && path === '/__admin/expire-binding') {
      context.binding.expiresAt = context.now();
      return emptyResponse(204);
    }
    if (method === 'POST' && path === '/__admin/revoke-tokens') {
      context.tokens.revokeAll();
      return emptyResponse(204);
    }
    return jsonResponse(404, { error: `No admin endpoint ${method} ${path}` });
  }
}

function itemOf(request: SimRequest): Record<string, unknown> {
  const parsed = parseEnvelope(request.body);
  return parsed.ok ? parsed.envelope.item : {};
}

const DEFAULT_STATUS_ERRORS: Record<number, { v1: [string, string]; v2: [string, string] }> = {
  400: { v1: ['err_request_malformed', 'Bad request'], v2: ['bad_request', 'Bad request'] },
  401: {
    v1: ['err_xdk_invalid_signature', '0004 Invalid Signature'],
    v2: ['token_invalid', 'The access token is not valid'],
  },
  403: {
    v1: ['err_xdk_forbidden', 'Forbidden'],
    v2: ['app_forbidden', 'Forbidden to perform the requested operation'],
  },
  404: { v1: ['err_resource_not_found', 'Not found'], v2: ['not_found', 'Not found'] },
  418: {
    v1: ['err_xdk_binding_expired', 'The access key binding has expired'],
    v2: ['err_xdk_binding_expired', 'Binding expired'],
  },
};

function statusFault(fault: Extract<FiredFault, { kind: 'status' }>, dialect: Dialect): SimResponse {
  if (fault.body !== undefined) {
    return {
      status: fault.status,
      headers: { 'content-type': fault.contentType ?? 'application/json' },
      body: Buffer.from(fault.body, 'utf8'),
    };
  }
  if (fault.code === undefined && [502, 503, 504].includes(fault.status)) return gatewayPage(fault.status);
  const serverError = fault.status >= 500;
  const defaults = DEFAULT_STATUS_ERRORS[fault.status];
  const [defaultCode, defaultMessage] = serverError
    ? ['err_internal_server_error', 'Internal server error']
    : defaults
      ? dialect === 'v1'
        ? defaults.v1
        : defaults.v2
      : ['err_request_failed', 'Request failed'];
  const s3Code = fault.status === 403 ? 'AccessDenied' : serverError ? 'InternalError' : 'InvalidRequest';
  return errorInDialect(dialect, fault.status, {
    code: fault.code ?? (dialect === 's3' ? s3Code : defaultCode),
    message: fault.message ?? defaultMessage,
    retryable: fault.retryable ?? serverError,
  });
}

/** The same answer cut off mid-document, still announced as JSON with a matching Content-Length. */
function malformed(response: SimResponse): SimResponse {
  const isJson = (response.headers['content-type'] ?? '').includes('json');
  const text = isJson
    ? response.body.toString('utf8')
    : '{"meta":{"status":200},"data":[{"logs":[{"createTime":"2024-';
  const cut = isJson ? text.slice(0, Math.max(1, Math.floor(text.length * 0.6))) : text;
  return {
    status: 200,
    headers: isJson ? { ...response.headers } : { 'content-type': 'application/json' },
    body: Buffer.from(cut, 'utf8'),
  };
}
