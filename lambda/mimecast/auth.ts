/** The two ways to authenticate: API 1.0 HMAC signatures and API 2.0 OAuth2 bearer tokens. */
import * as z from 'zod';
import type { CallBudget, Clock } from '../core/ports';
import { CollectorError } from '../errors';
import type { MimecastV1Credentials, MimecastV2Credentials } from '../secrets/credentials';
import { type CallContext, failureError, failuresOf, protocolError } from './classify';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, TOKEN_REFRESH_MARGIN_MS } from './constants';
import { apiUrl } from './hosts';
import { v1AuthHeaders } from './signing';
import { type Authenticator, type AuthHeaders, type HttpTransport, raceSignal, readJson } from './transport';

/** API 1.0: every request signed afresh (new date and request id per attempt). */
export class V1Signer implements Authenticator {
  readonly apiVersion = 1;

  constructor(private readonly credentials: MimecastV1Credentials) {}

  async headers(path: string): Promise<AuthHeaders> {
    // Wall time, not the injectable clock: Mimecast checks the signed date against its own clock.
    return { headers: v1AuthHeaders(this.credentials, path, Date.now()) };
  }

  refused(): boolean {
    return false;
  }
}

const TokenAnswer = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number().positive(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
});

interface CachedToken {
  token: string;
  refreshAt: number;
}

const TOKEN_PATH = '/oauth/token';
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

/**
 * API 2.0: one client-credentials token per client (one client per container), refreshed
 * 60 s before it expires. Concurrent callers share one in-flight token request: the token endpoint
 * is rate-limited, so never a token per request.
 */
export class TokenProvider implements Authenticator {
  readonly apiVersion = 2;
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

  constructor(
    private readonly transport: HttpTransport,
    private readonly base: URL,
    private readonly credentials: MimecastV2Credentials,
    private readonly clock: Clock,
  ) {}

  async headers(_path: string, ctx: CallContext, budget: CallBudget): Promise<AuthHeaders> {
    const token = await this.token(ctx, budget);
    return { headers: { authorization: `Bearer ${token}` }, token };
  }

  refused(token: string | undefined): boolean {
    if (token !== undefined && this.cached?.token === token) {
      this.cached = undefined;
    }
    return true;
  }

  async token(ctx: CallContext, budget: CallBudget): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.refreshAt) {
      return this.cached.token;
    }
    if (!this.inflight) {
      const inflight = this.fetchToken(ctx, budget).finally(() => {
        this.inflight = undefined;
      });
      // A caller that gives up early must not leave the shared request's failure unhandled.
      inflight.catch(() => undefined);
      this.inflight = inflight;
    }
    try {
      return (await raceSignal(this.inflight, budget.signal, ctx)).token;
    } catch (err) {
      // The request is shared: its failure carries the context of the stream that started it.
      throw err instanceof CollectorError ? err.forStream(ctx.stream) : err;
    }
  }

  private async fetchToken(caller: CallContext, budget: CallBudget): Promise<CachedToken> {
    const ctx: CallContext = { ...caller, endpoint: `POST ${TOKEN_PATH}`, role: 'token' };
    // Shared by every waiting caller, so not tied to the first caller's abort signal, only to its deadline.
    const shared: CallBudget = {
      deadline: budget.deadline,
      signal: AbortSignal.timeout(Math.max(1, budget.deadline - Date.now())),
    };
    const body = new URLSearchParams({
      client_id: this.credentials.clientId,
      client_secret: this.credentials.clientSecret,
      grant_type: 'client_credentials',
    }).toString();
    return this.transport.call(
      {
        ctx,
        method: 'POST',
        url: apiUrl(this.base, TOKEN_PATH),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        authenticate: false,
      },
      shared,
      async (res) => {
        // The answer holds the token: never quote it in an error.
        const json = await readJson(res, ctx, MAX_TOKEN_ANSWER_BYTES, true);
        const failures = failuresOf(json);
        if (failures.length > 0) {
          throw failureError(ctx, res.status, failures);
        }
        const parsed = TokenAnswer.safeParse(json);
        if (!parsed.success) {
          throw protocolError(
            ctx,
            'Token answer without a usable access_token/expires_in',
            undefined,
            undefined,
            res.status,
          );
        }
        const lifetimeMs = (parsed.data.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
        const now = this.clock.now();
        const cached = {
          token: parsed.data.access_token,
          refreshAt: now + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2),
        };
        this.cached = cached;
        return cached;
      },
    );
  }
}
