/**
 * API 1.0 request authentication (docs/mimecast-api.md A, C.2, F.1): the MC signature is recomputed from the headers
 * and the path exactly as sent, and compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { headerValue, type SimContext, type SimRequest } from './context';
import { parseRfc1123 } from './dates';
import { type SimResponse, v1Failure } from './responses';
import { mcSignature } from './signature';

export type AuthOutcome = { ok: true; identity: string } | { ok: false; response: SimResponse };

const REQUIRED_HEADERS = ['authorization', 'x-mc-date', 'x-mc-req-id', 'x-mc-app-id'] as const;

function reject(status: number, code: string, message: string): AuthOutcome {
  return { ok: false, response: v1Failure(status, [{ code, message, retryable: false }]) };
}

export function authenticateV1(request: SimRequest, context: SimContext): AuthOutcome {
  const missing = REQUIRED_HEADERS.filter((name) => !headerValue(request.headers, name));
  if (missing.length > 0) {
    return reject(400, 'err_xdk_missing_required_header', `0001 Credentials Missing: ${missing.join(', ')}`);
  }
  const authorization = headerValue(request.headers, 'authorization') ?? '';
  const date = headerValue(request.headers, 'x-mc-date') ?? '';
  const requestId = headerValue(request.headers, 'x-mc-req-id') ?? '';
  const appId = headerValue(request.headers, 'x-mc-app-id') ?? '';
  const credentials = context.credentials.v1;

  const scheme = /^MC ([^:\s]+):([A-Za-z0-9+/=]+)$/.exec(authorization);
  if (!scheme) return reject(401, 'err_xdk_invalid_signature', '0004 Invalid Signature');
  const [, accessKey, signature] = scheme;
  // An access key we never issued is indistinguishable from one whose binding lapsed.
  if (accessKey !== credentials.accessKey) {
    return reject(418, 'err_xdk_binding_expired', 'The access key binding has expired or does not exist');
  }
  const now = context.now();
  if (context.binding.expiresAt !== undefined && now >= context.binding.expiresAt) {
    return reject(418, 'err_xdk_binding_expired', 'The access key binding has expired');
  }
  if (appId !== credentials.appId) {
    return reject(401, 'err_developer_key', 'Unknown application id');
  }
  const parsedDate = parseRfc1123(date);
  const variants = context.options.variants;
  if (!parsedDate || !(variants.v1DateSuffixes as string[]).includes(parsedDate.suffix)) {
    return reject(
      401,
      'err_xdk_invalid_date',
      `x-mc-date is not a date of the form "Tue, 24 Nov 2015 12:50:11 UTC"`,
    );
  }
  if (Math.abs(now - parsedDate.epochMs) > variants.v1MaxClockSkewSeconds * 1000) {
    return reject(
      401,
      'err_xdk_invalid_date',
      'x-mc-date differs from the server clock by more than allowed',
    );
  }
  const expected = Buffer.from(
    mcSignature(credentials.secretKey, date, requestId, request.path, credentials.appKey),
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return reject(401, 'err_xdk_invalid_signature', '0004 Invalid Signature');
  }
  return { ok: true, identity: `v1:${accessKey}` };
}
