/**
 * Answers in each of the dialects the real service speaks:
 * - API 1.0 and the `/api/...` JSON endpoints: `{meta, data, fail:[{key?, errors:[{code,message,retryable}]}]}`
 * - API 2.0 gateway errors (auth, quota): flat `{fail:[{code,message}]}`
 * - `/siem/v1/...` request errors: `{error:{code,message}}` (GRAVWELL)
 * - pre-signed object-store URLs: S3's XML `<Error>`
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RateLimitHint } from './options';

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Dialect = 'v1' | 'v2' | 'siem' | 'oauth' | 's3';

export interface ApiError {
  code: string;
  message: string;
  retryable: boolean;
  field?: string;
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): SimResponse {
  return { status, headers, body: Buffer.alloc(0) };
}

/** `fail[]` in the 1.0 envelope; `status` is both the HTTP status and meta.status. */
export function v1Failure(
  status: number,
  errors: ApiError[],
  key?: unknown,
  headers?: Record<string, string>,
) {
  const failItem = key === undefined ? { errors } : { key, errors };
  return jsonResponse(status, { meta: { status }, data: [], fail: [failItem] }, headers);
}

/** Flat API 2.0 gateway failure. */
export function v2Failure(status: number, code: string, message: string, headers?: Record<string, string>) {
  return jsonResponse(status, { fail: [{ code, message }] }, headers);
}

export function siemError(status: number, code: string, message: string, headers?: Record<string, string>) {
  return jsonResponse(status, { error: { code, message } }, headers);
}

export function s3Error(status: number, code: string, message: string): SimResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${Date.now().toString(16).toUpperCase()}</RequestId></Error>`;
  return { status, headers: { 'content-type': 'application/xml' }, body: Buffer.from(body, 'utf8') };
}

/** A 502/503/504 from the load balancer in front of the API: HTML, not JSON. */
export function gatewayPage(status: number): SimResponse {
  const reason = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' }[
    status
  ];
  const title = `${status} ${reason ?? 'Error'}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
  return { status, headers: { 'content-type': 'text/html' }, body: Buffer.from(body, 'utf8') };
}

/**
 * An error in the dialect of the endpoint the request went to. `v1`/`v2` share the `/api` paths and differ
 * by authentication scheme; `siem` errors other than auth use the `{error}` object.
 */
export function errorInDialect(
  dialect: Dialect,
  status: number,
  error: ApiError,
  headers?: Record<string, string>,
  key?: unknown,
): SimResponse {
  switch (dialect) {
    case 'v1':
      return v1Failure(status, [error], key, headers);
    case 'v2':
    case 'oauth':
      return v2Failure(status, error.code, error.message, headers);
    case 'siem':
      return status === 401 || status === 403 || status === 429
        ? v2Failure(status, error.code, error.message, headers)
        : siemError(status, error.code, error.message, headers);
    case 's3':
      return s3Error(status, error.code, error.message);
  }
}

export function dialectOf(path: string, headers: IncomingHttpHeaders): Dialect {
  if (path === '/oauth/token') return 'oauth';
  if (path.startsWith('/siem/')) return 'siem';
  if (path.startsWith('/api/')) return /^Bearer\s/i.test(headers.authorization ?? '') ? 'v2' : 'v1';
  return 's3';
}

/** Headers telling a throttled client when to come back, per the hint style (docs/mimecast-api.md C.3, D.8). */
export function throttleHeaders(
  hint: RateLimitHint,
  waitMs: number,
  now: number,
  limit?: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (hint === 'none') return headers;
  if (hint === 'retry-after') {
    headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
    return headers;
  }
  if (limit !== undefined) headers['x-ratelimit-limit'] = String(limit);
  headers['x-ratelimit-remaining'] = '0';
  headers['x-ratelimit-reset'] =
    hint === 'reset-ms' ? String(waitMs) : String(Math.ceil((now + waitMs) / 1000));
  return headers;
}

/** A 429 in the endpoint's dialect. */
export function throttleResponse(
  dialect: Dialect,
  hint: RateLimitHint,
  waitMs: number,
  now: number,
  limit?: number,
): SimResponse {
  const headers = throttleHeaders(hint, waitMs, now, limit);
  const message = `Rate limit exceeded; retry in ${waitMs} ms`;
  return errorInDialect(
    dialect === 's3' ? 'v2' : dialect,
    429,
    { code: dialect === 'v1' ? 'err_rate_limit_exceeded' : 'rate_limit_exceeded', message, retryable: true },
    headers,
  );
}
