/**
 * A Microsoft Entra ID token endpoint for the client credentials grant, as the Logs Ingestion API's
 * callers use it: `POST /<tenant>/oauth2/v2.0/token` with a form body (`grant_type=client_credentials`,
 * `client_id`, `client_secret`, `scope=https://monitor.azure.com//.default`). It answers
 * `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"…"}`, or an
 * `AADSTS…` error in Entra's shape (`error`, `error_description`, `error_codes`, `timestamp`,
 * `trace_id`, `correlation_id`, `error_uri`). Tokens are JWTs signed with a key of this endpoint, so
 * the Sentinel receiver can check signature, audience and expiry.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { serve } from './server';
import type { Fault, Product, RecordedRequest, Reply, TokenCheck, TokenVerifier } from './types';

export const MONITOR_SCOPE = 'https://monitor.azure.com//.default';
const MONITOR_AUDIENCE = 'https://monitor.azure.com';
/** Resources this tenant knows; a token for another one is refused with AADSTS500011. */
const KNOWN_RESOURCES = new Set([MONITOR_AUDIENCE, 'https://management.azure.com']);
const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;

export interface EntraOptions {
  /** Default a random GUID. */
  tenantId?: string;
  /** Default a random GUID. */
  clientId?: string;
  /** Default random, shaped like Entra's (40 characters). */
  clientSecret?: string;
  /** `expires_in` of issued tokens. Default 3599, as Entra answers. */
  tokenLifetimeSeconds?: number;
  port?: number;
}

export interface IssuedToken {
  accessToken: string;
  clientId: string;
  audience: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface EntraTokenEndpoint extends TokenVerifier {
  /** `http://127.0.0.1:<port>`: the authority URL a client is pointed at instead of login.microsoftonline.com. */
  readonly authority: string;
  /** `<authority>/<tenant>/oauth2/v2.0/token`. */
  readonly tokenUrl: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Tokens issued so far, oldest first. */
  issued(): IssuedToken[];
  /** Every token issued so far expires now (the ingestion API then answers 401 TokenExpired). */
  expireTokens(): void;
  /** The app's client secret passes its end date: token requests get AADSTS7000222. */
  expireSecret(): void;
  /** Queue faults for the next token requests: `status` (OAuth error bodies), `aadsts`, `hang`, `reset`, `delay`. */
  inject(...faults: Fault[]): void;
  pendingFaults(): number;
  /** Token requests (test only: bodies hold the client secret). */
  requests(): RecordedRequest[];
  /** Forget requests, issued tokens and faults; the secret is valid again. */
  reset(): void;
  stop(): Promise<void>;
}

/** The AADSTS errors this endpoint gives: OAuth `error` name, HTTP status and Entra's description. */
const AADSTS: Readonly<Record<number, { error: string; status: number; text: (c: Context) => string }>> = {
  90002: {
    error: 'invalid_request',
    status: 400,
    text: (c) =>
      `Tenant '${c.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  },
  900144: {
    error: 'invalid_request',
    status: 400,
    text: (c) => `The request body must contain the following parameter: '${c.parameter}'.`,
  },
  70003: {
    error: 'unsupported_grant_type',
    status: 400,
    text: (c) => `The app requested an unsupported grant type '${c.grantType}'.`,
  },
  700016: {
    error: 'unauthorized_client',
    status: 400,
    text: (c) =>
      `Application with identifier '${c.clientId}' was not found in the directory '${c.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  },
  7000215: {
    error: 'invalid_client',
    status: 401,
    text: (c) =>
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${c.clientId}'.`,
  },
  7000218: {
    error: 'invalid_client',
    status: 401,
    text: () =>
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  7000222: {
    error: 'invalid_client',
    status: 401,
    text: (c) =>
      `The provided client secret keys for app '${c.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  },
  1002012: {
    error: 'invalid_scope',
    status: 400,
    text: (c) =>
      `The provided value for scope ${c.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  },
  500011: {
    error: 'invalid_resource',
    status: 400,
    text: (c) =>
      `The resource principal named ${c.resource} was not found in the tenant named ${c.tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  },
};

interface Context {
  tenant: string;
  clientId?: string;
  parameter?: string;
  grantType?: string;
  scope?: string;
  resource?: string;
}

/** An Entra error answer; `description` replaces the AADSTS text (status faults use OAuth's own names). */
export function entraError(code: number | undefined, context: Context, fallback?: Reply): Reply {
  const known = code === undefined ? undefined : AADSTS[code];
  const status = known?.status ?? fallback?.status ?? 400;
  const error = known?.error ?? oauthErrorFor(status);
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const prefix = code === undefined ? '' : `AADSTS${code}: `;
  const text = known?.text(context) ?? fallback?.body ?? 'The request could not be completed.';
  return {
    status,
    body: JSON.stringify({
      error,
      error_description: `${prefix}${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: code === undefined ? [] : [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      ...(code === undefined ? {} : { error_uri: `https://login.microsoftonline.com/error?code=${code}` }),
    }),
  };
}

/** RFC 6749 section 5.2 names, and RFC 6749 4.1.2.1's for server trouble. */
function oauthErrorFor(status: number): string {
  if (status === 429 || status === 503) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  if (status === 401) return 'invalid_client';
  return 'invalid_request';
}

export async function startEntraTokenEndpoint(options: EntraOptions = {}): Promise<EntraTokenEndpoint> {
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? randomBytes(30).toString('base64url').slice(0, 40);
  const lifetimeMs = (options.tokenLifetimeSeconds ?? 3599) * 1000;
  const signingKey = randomBytes(32);
  const issued: IssuedToken[] = [];
  const state = { secretExpired: false, expiredBefore: 0 };

  const sign = (payload: object): string => {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const mac = createHmac('sha256', signingKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${mac}`;
  };

  const issue = (audience: string): Reply => {
    const now = Date.now();
    const expiresAt = now + lifetimeMs;
    const accessToken = sign({
      aud: audience,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor(expiresAt / 1000),
      appid: clientId,
      tid: tenantId,
      oid: randomUUID(),
      // Milliseconds too, so expireTokens() can tell tokens of the same second apart.
      iatMs: now,
    });
    issued.push({ accessToken, clientId, audience, expiresAt });
    const seconds = Math.round(lifetimeMs / 1000);
    return {
      status: 200,
      body: JSON.stringify({
        token_type: 'Bearer',
        expires_in: seconds,
        ext_expires_in: seconds,
        access_token: accessToken,
      }),
    };
  };

  const product: Product = {
    ingestPath: `/${tenantId}/oauth2/v2.0/token`,
    isIngest: (method, path) => method === 'POST' && TOKEN_PATH.test(path),
    other: () => ({ status: 404, body: '', contentType: 'text/html' }),
    authorize: () => undefined,
    statusReply: (status, detail) =>
      entraError(undefined, { tenant: tenantId }, { status, body: detail ?? `HTTP ${status}` }),
    ingest: ({ path, body, fault }) => {
      const tenant = TOKEN_PATH.exec(path)?.[1] ?? '';
      const form = new URLSearchParams(body);
      const context: Context = { tenant, clientId: form.get('client_id') ?? undefined };
      const refuse = (code: number, more: Partial<Context> = {}) => ({
        reply: entraError(code, { ...context, ...more }),
        accepted: [],
      });
      if (fault?.kind === 'aadsts') return refuse(fault.code);
      if (tenant !== tenantId) return refuse(90002);
      const grantType = form.get('grant_type');
      if (grantType === null) return refuse(900144, { parameter: 'grant_type' });
      if (grantType !== 'client_credentials') return refuse(70003, { grantType });
      if (context.clientId === undefined) return refuse(900144, { parameter: 'client_id' });
      if (context.clientId !== clientId) return refuse(700016);
      const scope = form.get('scope');
      if (scope === null) return refuse(900144, { parameter: 'scope' });
      if (!scope.endsWith('/.default')) return refuse(1002012, { scope });
      const resource = scope.slice(0, -'/.default'.length).replace(/\/+$/, '');
      if (!KNOWN_RESOURCES.has(resource)) return refuse(500011, { resource });
      const secret = form.get('client_secret');
      if (secret === null) return refuse(7000218);
      if (!sameText(secret, clientSecret)) return refuse(7000215);
      if (state.secretExpired) return refuse(7000222);
      return { reply: issue(resource), accepted: [] };
    },
    reset: () => {
      issued.length = 0;
      state.secretExpired = false;
      state.expiredBefore = 0;
    },
  };

  const server = await serve({ kind: 'entra-token', port: options.port }, product);
  return {
    authority: server.origin,
    tokenUrl: `${server.origin}/${tenantId}/oauth2/v2.0/token`,
    tenantId,
    clientId,
    clientSecret,
    issued: () => issued.map((token) => ({ ...token })),
    expireTokens: () => {
      state.expiredBefore = Date.now() + 1;
    },
    expireSecret: () => {
      state.secretExpired = true;
    },
    verify: (accessToken): TokenCheck => {
      const parts = accessToken.split('.');
      if (parts.length !== 3) return { ok: false, reason: 'malformed' };
      const mac = createHmac('sha256', signingKey).update(`${parts[0]}.${parts[1]}`).digest('base64url');
      if (!sameText(mac, parts[2])) return { ok: false, reason: 'signature' };
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {
        aud: string;
        exp: number;
        appid: string;
        iatMs: number;
      };
      const expiresAt = claims.exp * 1000;
      if (claims.iatMs < state.expiredBefore) {
        return { ok: false, reason: 'expired', expiredAt: state.expiredBefore };
      }
      if (expiresAt <= Date.now()) {
        return { ok: false, reason: 'expired', expiredAt: expiresAt };
      }
      return { ok: true, clientId: claims.appid, audience: claims.aud, expiresAt };
    },
    inject: (...faults) => server.inject(...faults),
    pendingFaults: () => server.pendingFaults(),
    requests: () => server.requests(),
    reset: () => server.reset(),
    stop: () => server.stop(),
  };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
