/** API 1.0 request signing (docs/mimecast-api.md A.1–A.4). */
import { createHmac, randomUUID } from 'node:crypto';
import type { MimecastV1Credentials } from '../secrets/credentials';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 1123 date ending in `UTC` (`Sun, 21 Aug 2022 13:49:40 UTC`): the suffix is signed, and `UTC` is what the docs show. */
export function mcDate(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
  );
}

export interface SignatureInput {
  accessKey: string;
  /** Base64, as Mimecast issues it. */
  secretKey: string;
  appKey: string;
  /** Exactly the `x-mc-date` header value. */
  date: string;
  /** Exactly the `x-mc-req-id` header value. */
  requestId: string;
  /** The request path as sent, without scheme, host or query. */
  path: string;
}

/** `MC {accessKey}:{base64(HMAC-SHA1(base64decode(secretKey), date:reqId:path:appKey))}`. */
export function authorizationHeader(input: SignatureInput): string {
  const signature = createHmac('sha1', Buffer.from(input.secretKey, 'base64'))
    .update(`${input.date}:${input.requestId}:${input.path}:${input.appKey}`, 'utf8')
    .digest('base64');
  return `MC ${input.accessKey}:${signature}`;
}

/** The four authentication headers of one API 1.0 request; a fresh request id every call. */
export function v1AuthHeaders(
  credentials: MimecastV1Credentials,
  path: string,
  nowMs: number,
  requestId: string = randomUUID(),
): Record<string, string> {
  const date = mcDate(nowMs);
  return {
    authorization: authorizationHeader({
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      appKey: credentials.appKey,
      date,
      requestId,
      path,
    }),
    'x-mc-date': date,
    'x-mc-req-id': requestId,
    'x-mc-app-id': credentials.appId,
  };
}
