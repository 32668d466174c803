/** What every endpoint handler sees: the parsed request and the simulator's state. */
import type { IncomingHttpHeaders } from 'node:http';
import type { MimecastV1Credentials, MimecastV2Credentials } from '../../lambda/secrets/credentials';
import type { BodyCache } from './file-bodies';
import type { ResolvedOptions } from './options';
import type { RateLimiter } from './rate-limit';
import type { TokenSealer } from './sealed-token';
import type { TenantData } from './stores';
import type { AccessTokens } from './v2-auth';

export interface SimRequest {
  method: string;
  /** Path exactly as sent (not decoded): API 1.0 signs it byte for byte. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SimContext {
  options: ResolvedOptions;
  now(): number;
  /** `http://127.0.0.1:<port>`, known once listening. */
  baseUrl(): string;
  data: TenantData;
  sealer: TokenSealer;
  credentials: { v1: MimecastV1Credentials; v2: MimecastV2Credentials };
  binding: { expiresAt?: number };
  tokens: AccessTokens;
  /** Per-user/app call quota, when configured. */
  callQuota?: RateLimiter;
  tokenQuota: RateLimiter;
  bodies: BodyCache;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
