/**
 * Microsoft Entra ID client credentials for the sentinel destination: `POST <authority>/<tenant>/oauth2/
 * v2.0/token` with `grant_type=client_credentials`, the app's id and secret and the scope
 * `https://monitor.azure.com//.default`. One token per destination, cached and fetched again 5 minutes
 * before it expires (Entra's tokens last about an hour); concurrent streams share one token request.
 * The Logs Ingestion API answering 401 drops the cached token (`refused`), so the sink asks once more.
 *
 * AADSTS answers that need a person (unknown tenant, unknown client, wrong or expired secret) become a
 * ConfigError naming the setting to fix; 429, 5xx and dropped connections are retried within the budget.
 * The client secret is only ever written into the form body, and the access token only into the
 * Authorization header: neither appears in an error (Entra's answers never echo them, and are scrubbed
 * anyway).
 */
import type { Dispatcher } from 'undici';
import type { CallBudget, Clock } from '../core/ports';
import { systemClock } from '../core/ports';
import { AuthenticationError, ConfigError, type ConfigProblem, TransientError } from '../errors';
import { sharedAgent } from '../http/agent';
import { parseRetryAfter } from '../http/hints';
import { isRetryableNetworkError, networkErrorCode } from '../http/network';
import { type RetryPolicy, withRetries } from '../http/retry';
import type { AzureAppCredentials } from '../secrets/credentials';
import { type Answer, exchange, hasControlChars, header, isRecord, tryJson } from './answer';

export const DEFAULT_AZURE_AUTHORITY = 'https://login.microsoftonline.com';
/** The Logs Ingestion API's resource, with the `/.default` every client credentials scope ends with. */
export const MONITOR_SCOPE = 'https://monitor.azure.com//.default';
/** A token is fetched again this long before it expires (never within its first half). */
export const ENTRA_REFRESH_MARGIN_MS = 5 * 60_000;
/** When Entra names no lifetime (it always does), an hour less the margin is assumed. */
const DEFAULT_TOKEN_LIFETIME_S = 3599;
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

export type { AzureAppCredentials };

/**
 * Where a user sets each value, for errors: the command line's variables, and the secret's fields that
 * `configure` writes from them (the function reads the secret only).
 */
export const AZURE_SETTING_NAMES = {
  tenantId: 'AZURE_TENANT_ID',
  clientId: 'AZURE_CLIENT_ID',
  clientSecret: 'AZURE_CLIENT_SECRET',
  authority: '--azure-authority-url',
} as const;

const STORED_IN =
  '(the secret field azureTenantId/azureClientId/azureClientSecret that `mimecast-collector configure` stores from the AZURE_* variables)';

const TOKEN_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 4_000,
  jitter: 'equal',
  attemptTimeoutMs: 15_000,
  minAttemptMs: 200,
  random: Math.random,
};

interface CachedToken {
  token: string;
  refreshAt: number;
}

export interface EntraTokenOptions {
  authority: URL;
  credentials: AzureAppCredentials;
  dispatcher?: Dispatcher;
  clock?: Clock;
  /** Tests shorten waits. */
  retry?: Partial<RetryPolicy>;
}

/** Checks the app credentials' shape; every problem named by its variable. */
export function azureCredentialProblems(credentials: AzureAppCredentials | undefined): ConfigProblem[] {
  const names = AZURE_SETTING_NAMES;
  if (credentials === undefined) {
    return [
      {
        field: `${names.tenantId}, ${names.clientId}, ${names.clientSecret}`,
        problem: `are not set: sentinel signs in as an Entra app; set all three on the command line, or store them in the collector secret with \`mimecast-collector configure\``,
      },
    ];
  }
  const problems: ConfigProblem[] = [];
  for (const field of ['tenantId', 'clientId', 'clientSecret'] as const) {
    const value = credentials[field];
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push({ field: names[field], problem: 'is empty' });
    } else if (value !== value.trim() || hasControlChars(value)) {
      problems.push({ field: names[field], problem: 'contains whitespace at an end or control characters' });
    }
  }
  return problems;
}

/** Client credentials tokens for the Logs Ingestion API, cached and refreshed early. */
export class EntraTokenSource {
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private readonly issued = new Set<string>();
  private readonly tokenUrl: URL;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;

  constructor(private readonly options: EntraTokenOptions) {
    const base = options.authority.href.replace(/\/+$/, '');
    this.tokenUrl = new URL(`${base}/${encodeURIComponent(options.credentials.tenantId)}/oauth2/v2.0/token`);
    this.clock = options.clock ?? systemClock;
    this.policy = { ...TOKEN_RETRY, ...options.retry };
  }

  /** Where tokens come from, as errors show it (the tenant id is not a secret). */
  get endpoint(): string {
    return `${this.tokenUrl.origin}${this.tokenUrl.pathname}`;
  }

  /** The client secret and every token handed out: what must never appear in any output. */
  secrets(): string[] {
    return [this.options.credentials.clientSecret, ...this.issued];
  }

  /** A token valid for a while yet; one request at a time for all callers. */
  async token(budget: CallBudget): Promise<string> {
    if (this.cached !== undefined && this.clock.now() < this.cached.refreshAt) return this.cached.token;
    if (this.inflight === undefined) {
      const inflight = this.fetchToken(budget).finally(() => {
        this.inflight = undefined;
      });
      // A caller that gives up early must not leave the shared request's failure unhandled.
      inflight.catch(() => undefined);
      this.inflight = inflight;
    }
    return (await this.inflight).token;
  }

  /** The API refused `token` (401: expired or revoked): the next call fetches a new one. */
  refused(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async fetchToken(budget: CallBudget): Promise<CachedToken> {
    const { credentials } = this.options;
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
      scope: MONITOR_SCOPE,
    }).toString();
    const started = this.clock.now();
    // Shared by every waiting stream: tied to the first caller's deadline, not to its abort signal.
    const shared: CallBudget = {
      deadline: budget.deadline,
      signal: AbortSignal.timeout(Math.max(1, budget.deadline - this.clock.now())),
    };
    return withRetries<CachedToken, { reason: string; throttled: boolean }>({
      policy: this.policy,
      budget: shared,
      now: () => this.clock.now(),
      attempt: async ({ timeoutMs }) => {
        let answer: Answer;
        try {
          answer = await exchange({
            method: 'POST',
            url: this.tokenUrl,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              accept: 'application/json',
              'user-agent': 'mimecast-collector',
            },
            body,
            dispatcher: this.options.dispatcher ?? sharedAgent(),
            signal: AbortSignal.any([shared.signal, AbortSignal.timeout(timeoutMs)]),
            maxAnswerBytes: MAX_TOKEN_ANSWER_BYTES,
          });
        } catch (error) {
          if (shared.signal.aborted) throw this.unreachable('the deadline was reached', error);
          const timedOut = (error as { name?: unknown })?.name === 'TimeoutError';
          if (!timedOut && !isRetryableNetworkError(error)) {
            throw this.unreachable(networkErrorCode(error) ?? String((error as Error)?.message), error);
          }
          return {
            kind: 'retry',
            failure: {
              reason: timedOut ? `no answer within ${timeoutMs} ms` : `${networkErrorCode(error)}`,
              throttled: false,
            },
          };
        }
        if (answer.status === 200) return { kind: 'done', value: this.accept(answer) };
        if (answer.status === 429 || answer.status === 408 || answer.status >= 500) {
          return {
            kind: 'retry',
            failure: { reason: `HTTP ${answer.status}${describe(answer)}`, throttled: answer.status === 429 },
            retryAfterMs: parseRetryAfter(header(answer, 'retry-after'), this.clock.now()),
          };
        }
        throw this.refusal(answer);
      },
      giveUp: ({ attempts, last }) =>
        new TransientError(
          `Entra token endpoint ${this.endpoint}: no token after ${attempts} attempt(s) in ${this.clock.now() - started} ms${last === undefined ? '' : `; last: ${last.reason}`}`,
          `The batch is sent again on the next run; if this persists, check that ${this.tokenUrl.origin} is reachable from the collector (${AZURE_SETTING_NAMES.authority} changes it).`,
          { endpoint: this.endpoint },
        ),
    });
  }

  private accept(answer: Answer): CachedToken {
    const body = tryJson(answer.text);
    const token = isRecord(body) ? body.access_token : undefined;
    const expiresIn = isRecord(body) ? Number(body.expires_in ?? DEFAULT_TOKEN_LIFETIME_S) : Number.NaN;
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      // The answer holds the token: it is not quoted.
      throw new AuthenticationError(
        `Entra token endpoint ${this.endpoint} answered 200 without a usable access_token and expires_in`,
        `Check ${AZURE_SETTING_NAMES.authority}: it must be the Entra authority (default ${DEFAULT_AZURE_AUTHORITY}).`,
        { endpoint: this.endpoint, status: 200 },
      );
    }
    this.issued.add(token);
    const lifetimeMs = expiresIn * 1000;
    const cached = {
      token,
      refreshAt: this.clock.now() + lifetimeMs - Math.min(ENTRA_REFRESH_MARGIN_MS, lifetimeMs / 2),
    };
    this.cached = cached;
    return cached;
  }

  /** An answer no retry helps: the AADSTS code says which setting to fix. */
  private refusal(answer: Answer): Error {
    const body = tryJson(answer.text);
    const codes = isRecord(body) && Array.isArray(body.error_codes) ? body.error_codes.map(Number) : [];
    const error = isRecord(body) && typeof body.error === 'string' ? body.error : undefined;
    const said = this.scrub(describe(answer));
    const code = codes[0];
    const names = AZURE_SETTING_NAMES;
    const problem = (field: string, text: string) =>
      new ConfigError(
        'Entra app credentials (sentinel)',
        [{ field, problem: `${text}: Entra answered HTTP ${answer.status}${said}` }],
        `Fix ${field} ${STORED_IN} and run again.`,
      );
    switch (code) {
      case 90002:
      case 900023:
      case 90013:
        return problem(names.tenantId, 'names no tenant Entra knows');
      case 700016:
        return problem(
          names.clientId,
          `is not an app registered in tenant ${this.options.credentials.tenantId}`,
        );
      case 7000215:
        return problem(
          names.clientSecret,
          "is not a valid secret of the app (use the secret's Value, not its Secret ID)",
        );
      case 7000222:
        return problem(
          names.clientSecret,
          'has expired: create a new client secret for the app and store it',
        );
      case 7000218:
        return problem(names.clientSecret, 'was not sent');
      default:
        return new AuthenticationError(
          `Entra token endpoint ${this.endpoint} refused the client credentials: HTTP ${answer.status}${error === undefined ? '' : ` ${error}`}${said}`,
          `Check ${names.tenantId}, ${names.clientId}, ${names.clientSecret} ${STORED_IN} and ${names.authority} (default ${DEFAULT_AZURE_AUTHORITY}).`,
          {
            endpoint: this.endpoint,
            status: answer.status,
            codes: codes.map((c) => `AADSTS${c}`),
          },
        );
    }
  }

  private unreachable(problem: string, cause: unknown): TransientError {
    return new TransientError(
      `Entra token endpoint ${this.endpoint} did not answer: ${problem}`,
      `Check that ${this.tokenUrl.origin} is reachable from the collector (${AZURE_SETTING_NAMES.authority} changes it); the batch is sent again on the next run.`,
      { endpoint: this.endpoint, cause },
    );
  }

  private scrub(text: string): string {
    let clean = text;
    for (const secret of this.secrets()) clean = clean.split(secret).join('[redacted]');
    return clean;
  }
}

/** `: AADSTS…: <first line of the description>` or nothing. */
function describe(answer: Answer): string {
  const body = tryJson(answer.text);
  const description =
    isRecord(body) && typeof body.error_description === 'string' ? body.error_description : '';
  const first = description.split(/\r?\n/)[0]?.trim() ?? '';
  return first === '' ? '' : `: ${first.slice(0, 400)}`;
}
