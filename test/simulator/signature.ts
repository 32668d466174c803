/** API 1.0 request signing (docs/mimecast-api.md A.2), used by the simulator to verify and by tests and docs to sign. */
import { createHmac, randomUUID } from 'node:crypto';
import type { MimecastV1Credentials } from '../../lambda/secrets/credentials';
import { formatRfc1123 } from './dates';

/** base64(HMAC-SHA1(base64decode(secretKey), `date:requestId:path:appKey`)). */
export function mcSignature(
  secretKeyBase64: string,
  date: string,
  requestId: string,
  path: string,
  appKey: string,
): string {
  return createHmac('sha1', Buffer.from(secretKeyBase64, 'base64'))
    .update(`${date}:${requestId}:${path}:${appKey}`, 'utf8')
    .digest('base64');
}

export interface SignedHeaderOptions {
  /** Epoch ms to put in x-mc-date (default: now). */
  at?: number;
  /** Overrides the whole x-mc-date value, e.g. to send a `GMT` suffix or a malformed date. */
  date?: string;
  requestId?: string;
}

/** The five headers of a signed API 1.0 call (docs/mimecast-api.md A.1). */
export function signedV1Headers(
  credentials: MimecastV1Credentials,
  path: string,
  options: SignedHeaderOptions = {},
): Record<string, string> {
  const date = options.date ?? formatRfc1123(options.at ?? Date.now(), 'UTC');
  const requestId = options.requestId ?? randomUUID();
  const signature = mcSignature(credentials.secretKey, date, requestId, path, credentials.appKey);
  return {
    authorization: `MC ${credentials.accessKey}:${signature}`,
    'x-mc-date': date,
    'x-mc-req-id': requestId,
    'x-mc-app-id': credentials.appId,
    'content-type': 'application/json',
    accept: 'application/json',
  };
}
