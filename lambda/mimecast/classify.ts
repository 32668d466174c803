/**
 * Turns Mimecast answers and transport failures into the collector's typed errors
 * (lambda/errors.ts). Messages name stream, endpoint (method + path only), HTTP status and
 * Mimecast codes; they quote only what Mimecast sent, never our request or credentials.
 */
import type { StreamId } from '../core/streams';
import {
  AuthenticationError,
  type CollectorError,
  InvalidSiemTokenError,
  PagingStalledError,
  PermissionError,
  ProtocolError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../errors';
import { type Headers, headerValue, parseRateLimitReset, parseRetryAfter } from '../http/hints';
import { DEFAULT_THROTTLE_BACKOFF_MS, EXCERPT_CHARS, MAX_THROTTLE_BACKOFF_MS } from './constants';

/** Where a call went and what it needs: everything an error message may say about it. */
export interface CallContext {
  stream: StreamId;
  /** Method and path only, e.g. `POST /api/audit/get-audit-events` (never a pre-signed query string). */
  endpoint: string;
  apiVersion: 1 | 2;
  /** The Mimecast permission (1.0 role) or product (2.0 app) the endpoint needs. */
  permission: string;
  /** The token endpoint and pre-signed file downloads read some statuses differently. */
  role: 'api' | 'token' | 'download';
}

/** One entry of Mimecast's `fail[]`, flattened from either shape. */
export interface MimecastFailure {
  code?: string;
  message?: string;
  retryable?: boolean;
}

export { type Headers, headerValue } from '../http/hints';

/**
 * Failures in a parsed body: the nested 1.0 shape `fail[{key, errors[{code, message, retryable}]}]`,
 * the flat 2.0 gateway shape `fail[{code, message}]`, and `{"error": {code, message}}`.
 */
export function failuresOf(body: unknown): MimecastFailure[] {
  if (!isObject(body)) {
    return [];
  }
  const out: MimecastFailure[] = [];
  if (Array.isArray(body.fail)) {
    for (const entry of body.fail) {
      if (isObject(entry) && Array.isArray(entry.errors)) {
        for (const error of entry.errors) {
          out.push(toFailure(error));
        }
        if (entry.errors.length === 0) {
          out.push(toFailure(entry));
        }
      } else {
        out.push(toFailure(entry));
      }
    }
  }
  if (isObject(body.error)) {
    out.push(toFailure(body.error));
  }
  return out;
}

/** True when there are failures and every one carries one of `codes`. */
export function onlyCodes(failures: readonly MimecastFailure[], codes: readonly string[]): boolean {
  return (
    failures.length > 0 &&
    failures.every((failure) => failure.code !== undefined && codes.includes(failure.code))
  );
}

function toFailure(value: unknown): MimecastFailure {
  if (!isObject(value)) {
    return typeof value === 'string' ? { message: value } : {};
  }
  return {
    code: typeof value.code === 'string' ? value.code : undefined,
    message: typeof value.message === 'string' ? value.message : undefined,
    retryable: typeof value.retryable === 'boolean' ? value.retryable : undefined,
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const AUTH_CODE =
  /binding_expired|invalid_signature|invalidclient|invalid_client|unauthori[sz]ed|err_developer_key|authentication/i;
const PERMISSION_CODE =
  /forbidden|licen[cs]|entitle|permission|not_enabled|access_denied|not_authori[sz]ed_for/i;
const INVALID_SIEM_TOKEN = 'err_audit_siem_invalid_token';
const INCORRECT_REGION = 'err_audit_log_incorrect_region';

/** Error for a `fail[]` (any HTTP status). */
export function failureError(ctx: CallContext, status: number, failures: MimecastFailure[]): CollectorError {
  const codes = codesOf(failures);
  const where = describe(ctx, status, codes, failures);
  const context = { stream: ctx.stream, endpoint: ctx.endpoint, status, codes };
  if (codes.includes(INVALID_SIEM_TOKEN)) {
    return new InvalidSiemTokenError(
      `Mimecast no longer accepts the stored SIEM token ${where}`,
      'Reset the siem stream checkpoint (or restart it from a start time within the last 7 days): Mimecast keeps SIEM files 7 days, and older ones cannot be fetched again.',
      context,
    );
  }
  const allRetryable = failures.length > 0 && failures.every((failure) => failure.retryable === true);
  if (codes.some((code) => AUTH_CODE.test(code)) || (ctx.role === 'token' && !allRetryable)) {
    return authenticationError(ctx, status, codes, where);
  }
  if (codes.some((code) => PERMISSION_CODE.test(code))) {
    return permissionError(ctx, status, codes, where);
  }
  if (codes.includes(INCORRECT_REGION)) {
    return new RequestError(
      `Mimecast says the account lives in another region ${where}`,
      "Set the Mimecast base URL to the account's regional API host (e.g. https://us-api.mimecast.com), then run verify.",
      context,
    );
  }
  if (allRetryable) {
    return new TransientError(
      `Mimecast reported a temporary failure ${where}`,
      'Nothing to change: the next run tries again.',
      context,
    );
  }
  return new RequestError(
    `Mimecast refused the request ${where}`,
    'Check the stream configuration against the Mimecast error codes; retrying unchanged will fail again.',
    context,
  );
}

function authenticationError(
  ctx: CallContext,
  status: number,
  codes: string[],
  where: string,
): AuthenticationError {
  const remedy =
    ctx.apiVersion === 1
      ? status === 418 || codes.some((code) => /binding_expired/.test(code))
        ? 'The API 1.0 access key binding expired: create new access and secret keys for the service user (Authentication Cache TTL "Never expire") and store them in the secret.'
        : 'Check the API 1.0 application id and key and the access and secret keys in the secret (and that the host clock is right); then run verify.'
      : 'Check the API 2.0 client id and client secret in the secret (Mimecast admin console, API and Platform Integrations); they may have been revoked or expired. Then run verify.';
  return new AuthenticationError(`Mimecast refused the credentials ${where}`, remedy, {
    stream: ctx.stream,
    endpoint: ctx.endpoint,
    status,
    codes,
  });
}

function permissionError(ctx: CallContext, status: number, codes: string[], where: string): PermissionError {
  const grant =
    ctx.apiVersion === 1
      ? `give the API 1.0 service user's role the "${ctx.permission}" permission`
      : `add the "${ctx.permission}" product to the API 2.0 application and give it an admin role that can read it`;
  return new PermissionError(
    `The credentials may not read stream ${ctx.stream} ${where}`,
    `In the Mimecast admin console, ${grant} (and check the feature is licensed), then run verify.`,
    { stream: ctx.stream, endpoint: ctx.endpoint, status, codes, requiredPermission: ctx.permission },
  );
}

/** Error for a non-2xx answer. `body` is the (bounded) start of the answer. */
export function httpError(
  ctx: CallContext,
  status: number,
  headers: Headers,
  body: Uint8Array,
  nowMs: number,
): CollectorError {
  const parsed = tryParseJson(body);
  const failures = failuresOf(parsed);
  const codes = codesOf(failures);
  const where = describe(ctx, status, codes, failures);
  const context = { stream: ctx.stream, endpoint: ctx.endpoint, status, codes };

  if (status === 429) {
    return new ThrottledError(
      `Mimecast rate limit reached ${where}`,
      'Nothing to change: the collector comes back after the reset time. If it persists, poll less often or give busy streams their own credentials.',
      { ...context, retryAfterMs: retryAfterMs(headers, nowMs) },
    );
  }
  if (codes.includes(INVALID_SIEM_TOKEN)) {
    return failureError(ctx, status, failures);
  }
  if (status === 401 || status === 418 || (ctx.role === 'token' && status >= 400 && status < 500)) {
    return authenticationError(ctx, status, codes, where);
  }
  if (status === 403) {
    return codes.some((code) => AUTH_CODE.test(code))
      ? authenticationError(ctx, status, codes, where)
      : permissionError(ctx, status, codes, where);
  }
  if (status === 408 || status >= 500) {
    return new TransientError(
      `Mimecast failed to answer ${where}`,
      'Nothing to change: the next run tries again.',
      context,
    );
  }
  if (status >= 300 && status < 400) {
    return new RequestError(
      `Mimecast answered with a redirect, which the collector does not follow ${where}`,
      'Check the Mimecast base URL: use the regional API host for API 1.0 or api.services.mimecast.com for API 2.0.',
      context,
    );
  }
  if (status === 404) {
    return new RequestError(
      `Mimecast has no such endpoint ${where}`,
      'Check the Mimecast base URL and API version: API 1.0 needs the regional host, API 2.0 api.services.mimecast.com.',
      context,
    );
  }
  if (failures.length > 0) {
    return failureError(ctx, status, failures);
  }
  if (status >= 200 && status < 300) {
    return new ProtocolError(`Unexpected answer ${where}`, PROTOCOL_REMEDY, {
      ...context,
      excerpt: excerpt(body),
    });
  }
  return new RequestError(
    `Mimecast refused the request ${where}`,
    'Check the stream configuration; retrying unchanged will fail again.',
    context,
  );
}

export const PROTOCOL_REMEDY =
  'Nothing to change if it happens once: the next run fetches again. If it persists, report it with the excerpt.';

/** A body that is not what the endpoint promises. */
export function protocolError(
  ctx: CallContext,
  what: string,
  bodyExcerpt: string | undefined,
  cause?: unknown,
  status = 200,
): ProtocolError {
  return new ProtocolError(
    `${what} (stream ${ctx.stream}, ${ctx.endpoint}, HTTP ${status})`,
    PROTOCOL_REMEDY,
    {
      stream: ctx.stream,
      endpoint: ctx.endpoint,
      status,
      excerpt: bodyExcerpt,
      cause,
    },
  );
}

/** Mimecast handed back the continuation token it was asked with (or a page already read): never asked again. */
export function pagingStalled(ctx: CallContext, what: string): PagingStalledError {
  return new PagingStalledError(`${what} (stream ${ctx.stream}, ${ctx.endpoint}, HTTP 200)`, {
    stream: ctx.stream,
    endpoint: ctx.endpoint,
    status: 200,
  });
}

/** Connection refused or reset, timeout, abort: retryable. */
export function transportError(ctx: CallContext, cause: unknown, reason?: string): TransientError {
  const code = isObject(cause) && typeof cause.code === 'string' ? cause.code : undefined;
  const name = cause instanceof Error ? cause.name : 'Error';
  const detail = reason ?? (code ? `${name} ${code}` : name);
  return new TransientError(
    `Could not complete the call to Mimecast (stream ${ctx.stream}, ${ctx.endpoint}): ${detail}`,
    'Nothing to change: the next run tries again. If it persists, check network egress to the Mimecast host.',
    { stream: ctx.stream, endpoint: ctx.endpoint, cause },
  );
}

/**
 * How long a 429 asks us to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset`
 * (milliseconds; a value ≥ 1e9 is an epoch, in seconds below 1e12, else in milliseconds), else a default.
 */
export function retryAfterMs(
  headers: Headers,
  nowMs: number,
  fallbackMs = DEFAULT_THROTTLE_BACKOFF_MS,
): number {
  const hinted =
    parseRetryAfter(headerValue(headers, 'retry-after'), nowMs) ??
    parseRateLimitReset(
      headerValue(headers, 'x-ratelimit-reset') ?? headerValue(headers, 'x-mc-rate-limit-reset'),
      nowMs,
    );
  return clampBackoff(hinted ?? fallbackMs);
}

function clampBackoff(ms: number): number {
  return Math.min(MAX_THROTTLE_BACKOFF_MS, Math.max(0, Math.ceil(ms)));
}

/** First bytes of a body as printable text (≤ 200 chars): control and invalid bytes become `.`. */
export function excerpt(body: Uint8Array | string, max = EXCERPT_CHARS): string {
  const text =
    typeof body === 'string'
      ? body.slice(0, max * 2)
      : Buffer.from(body.subarray(0, max * 4)).toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  return Array.from(text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '.'))
    .slice(0, max)
    .join('');
}

export function tryParseJson(body: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
}

function codesOf(failures: MimecastFailure[]): string[] {
  return [...new Set(failures.map((failure) => failure.code).filter((code): code is string => !!code))];
}

/** A run of key, token or signature characters long enough to be a credential. */
const CREDENTIAL_LIKE = /[A-Za-z0-9+/=_.~-]{16,}/g;

/**
 * Mimecast's messages are quoted for the operator, but a gateway may echo what it was sent (a bearer
 * token, an access key, the token form): every credential-shaped word is masked before it can reach
 * an error, a log line or a checkpoint. Words, codes and paths (lower case, `_ - . /`) stay readable.
 */
function maskCredentials(message: string): string {
  return message.replace(CREDENTIAL_LIKE, (word) => (/^[a-z_./-]+$/.test(word) ? word : '[redacted]'));
}

function describe(ctx: CallContext, status: number, codes: string[], failures: MimecastFailure[]): string {
  const messages = [...new Set(failures.map((f) => f.message).filter((m): m is string => !!m))]
    .map((m) => maskCredentials(m).slice(0, 200))
    .slice(0, 3);
  return (
    `(stream ${ctx.stream}, ${ctx.endpoint}, HTTP ${status}` +
    (codes.length > 0 ? `, codes ${codes.join(', ')}` : '') +
    ')' +
    (messages.length > 0 ? `: ${messages.join('; ')}` : '')
  );
}
