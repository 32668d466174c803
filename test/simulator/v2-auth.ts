/** API 2.0 OAuth2 client-credentials tokens and Bearer checks (docs/mimecast-api.md D.2). */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { headerValue, type SimContext, type SimRequest } from './context';
import { emptyResponse, jsonResponse, type SimResponse, throttleResponse, v2Failure } from './responses';
import type { AuthOutcome } from './v1-auth';

interface IssuedToken {
  clientId: string;
  expiresAt: number;
}

/** Most live tokens kept; beyond it the oldest are forgotten (the token endpoint's quota bounds issuance). */
const MAX_LIVE_TOKENS = 10_000;

export class AccessTokens {
  private readonly issued = new Map<string, IssuedToken>();

  issue(clientId: string, lifetimeSeconds: number, now: number): string {
    this.forgetExpired(now);
    while (this.issued.size >= MAX_LIVE_TOKENS) {
      const oldest = this.issued.keys().next().value;
      if (oldest === undefined) break;
      this.issued.delete(oldest);
    }
    const token = randomBytes(32).toString('base64url');
    this.issued.set(token, { clientId, expiresAt: now + lifetimeSeconds * 1000 });
    return token;
  }

  lookup(token: string): IssuedToken | undefined {
    return this.issued.get(token);
  }

  revokeAll(): void {
    this.issued.clear();
  }

  private forgetExpired(now: number): void {
    for (const [token, entry] of this.issued) {
      if (entry.expiresAt <= now) this.issued.delete(token);
    }
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** POST /oauth/token with a form body `client_id`, `client_secret`, `grant_type=client_credentials`. */
export function handleTokenRequest(request: SimRequest, context: SimContext): SimResponse {
  if (request.method !== 'POST') {
    return v2Failure(405, 'method_not_allowed', 'Use POST for /oauth/token', { allow: 'POST' });
  }
  const contentType = headerValue(request.headers, 'content-type') ?? '';
  const form = contentType.startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(request.body.toString('utf8'))
    : new URLSearchParams();
  const field = (name: string) => form.get(name) ?? request.query.get(name) ?? '';
  const clientId = field('client_id');
  const now = context.now();
  const quota = context.tokenQuota.take(`token:${clientId}`, now);
  if (!quota.allowed) {
    return throttleResponse(
      'oauth',
      context.options.variants.v2RateLimitHint,
      quota.waitMs,
      now,
      context.tokenQuota.capacity,
    );
  }
  if (field('grant_type') !== 'client_credentials') {
    return v2Failure(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
  }
  const expected = context.credentials.v2;
  if (clientId !== expected.clientId || !sameSecret(field('client_secret'), expected.clientSecret)) {
    return context.options.variants.v2OAuthFailure === '400-empty'
      ? emptyResponse(400)
      : v2Failure(401, 'InvalidClientIdentifier', 'Client credentials are invalid');
  }
  const lifetime = context.options.tokenExpiresInSeconds;
  return jsonResponse(200, {
    access_token: context.tokens.issue(clientId, lifetime, now),
    token_type: 'Bearer',
    expires_in: lifetime,
    scope: '',
  });
}

export function authenticateBearer(request: SimRequest, context: SimContext): AuthOutcome {
  const header = headerValue(request.headers, 'authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const fail = (code: string, message: string): AuthOutcome => ({
    ok: false,
    response: v2Failure(401, code, message, { 'www-authenticate': 'Bearer' }),
  });
  if (!match) return fail('token_missing', 'Authorization header with a Bearer token is required');
  const entry = context.tokens.lookup(match[1]);
  if (!entry) return fail('token_invalid', 'The access token is not valid');
  // A token may stop working before the expiry it announced (variant v2TokenEarlyExpirySeconds).
  const validUntil = entry.expiresAt - context.options.variants.v2TokenEarlyExpirySeconds * 1000;
  if (context.now() >= validUntil) return fail('token_expired', 'The access token has expired');
  return { ok: true, identity: `v2:${entry.clientId}` };
}
