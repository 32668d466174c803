/**
 * The fault scenarios of the secret-leak test: what each one breaks (Mimecast, the receiver, the
 * secret), with which credentials and sink, and what the run must show to prove the fault was met.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { StreamId } from '../../lambda/core/streams';
import type { Receiver } from '../receivers';
import type { RunningSimulator } from '../simulator';
import type { World } from '../support/world';

export type SinkKind = 'splunk-hec' | 'ndjson';

export const STREAMS: Record<1 | 2, StreamId[]> = { 1: ['audit', 'siem'], 2: ['audit', 'siem', 'ttp-url'] };
const API_PATHS: Record<1 | 2, RegExp> = { 1: /^\/api\//, 2: /^\/(api|siem)\// };
const BATCH_FILE_PATH = /^\/mimecast-siem-cg\//;

/** Sink tokens as products issue them: a HEC token is a GUID, a generic bearer token random text. */
export const SINK_TOKENS: Record<SinkKind, string> = {
  'splunk-hec': randomUUID(),
  ndjson: randomBytes(30).toString('base64url'),
};
export const WRONG_SINK_TOKEN = randomUUID();
export const WRONG_CLIENT_SECRET = randomBytes(36).toString('base64url');
export const WRONG_SECRET_KEY = randomBytes(64).toString('base64');

export interface Run {
  world: World;
  simulator: RunningSimulator;
  receiver: Receiver;
  instance: string;
  api: 1 | 2;
  /** The credentials document as `configure` would store it (before any wrapping). */
  document(): Record<string, string | number>;
  /** Stores a document, wrapping every credential field with KMS when the scenario says so. */
  storeSecret(document: Record<string, string | number>): void;
}

export interface Scenario {
  name: string;
  api: 1 | 2;
  sink: SinkKind;
  wrap: boolean;
  /** Also run through `mimecast-collector run` (credentials from the environment: no secret faults). */
  cli: boolean;
  /** Error kinds (or `ok`) the run must show: proof the fault was met, not skipped. */
  expect: Array<string>;
  /** Edits the secret document before it is stored (wrapped or not). */
  secret?: (document: Record<string, string | number>, run: Run) => void;
  /** Stores this text as the secret instead of the document. */
  secretText?: (run: Run) => string;
  /** The sink URL to configure, when not the receiver's own. */
  sinkUrl?: (run: Run) => string;
  /** Further proof, from what the loopback servers recorded, that the scenario took its path. */
  verify?: (run: Run) => void;
  /** Faults injected before the run (the CLI run gets them afresh). */
  faults?: (run: Run) => void;
  /** Runs while the first invocation is under way. */
  during?: (run: Run) => Promise<void>;
  /** When given, a second (warm) invocation follows, after this. */
  beforeWarm?: (run: Run) => void;
}

function bearerTokensSent(run: Run): Set<string> {
  return new Set(
    run.simulator
      .requests()
      .map((q) => String(q.headers.authorization ?? ''))
      .filter((a) => a.startsWith('Bearer ')),
  );
}

function secretReads(run: Run): number {
  return run.world.aws.calls().filter((c) => c.operation === 'GetSecretValue').length;
}

function fail200(code: string, retryable: boolean) {
  return { kind: 'fail-200' as const, code, message: `${code} happened`, retryable };
}

/**
 * What a proxy that echoes the request would answer: the Authorization header as sent, in a raw
 * header dump and in JSON, as seen in the wild (debug proxies, misconfigured gateways).
 */
function echoingBody(run: Run, sink: SinkKind, token: string): string {
  const scheme = sink === 'splunk-hec' ? 'Splunk' : 'Bearer';
  return JSON.stringify({
    error: 'Bad Request',
    request: `POST ${new URL(run.receiver.url).pathname} HTTP/1.1\r\nHost: ${new URL(run.receiver.url).host}\r\nAuthorization: ${scheme} ${token}\r\nContent-Encoding: gzip\r\n`,
    headers: { authorization: `${scheme} ${token}`, 'content-encoding': 'gzip' },
  });
}

export const SCENARIOS: Scenario[] = [
  // --- no fault: the happy path must not log a secret either
  { name: 'no fault', api: 2, sink: 'splunk-hec', wrap: true, cli: true, expect: ['ok'] },
  { name: 'no fault', api: 1, sink: 'ndjson', wrap: false, cli: true, expect: ['ok'] },

  // --- Mimecast faults
  {
    name: 'Mimecast 401 on every call',
    api: 2,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['authentication'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[2], times: Infinity, fault: { kind: 'status', status: 401 } }),
  },
  {
    name: 'Mimecast 401 on every call',
    api: 1,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['authentication'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'status', status: 401 } }),
  },
  {
    name: 'Mimecast 418 binding expired',
    api: 1,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['authentication'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'status', status: 418 } }),
  },
  {
    name: 'API 1.0 binding expires between warm ticks',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: false,
    expect: ['ok', 'authentication'],
    // The simulator's expireV1Binding() cannot be undone, and the world is shared: the same 418 by injection.
    beforeWarm: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'status', status: 418 } }),
  },
  {
    name: 'issued tokens revoked between warm ticks',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: false,
    expect: ['ok'],
    beforeWarm: (r) => {
      r.simulator.revokeV2Tokens();
      r.simulator.publish('audit', 5);
    },
    // The cached token was refused and a fresh one fetched: two bearer tokens went on the wire.
    verify: (r) => expect(bearerTokensSent(r).size).toBeGreaterThanOrEqual(2),
  },
  {
    name: 'Mimecast 403 forbidden',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['permission'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[2], times: Infinity, fault: { kind: 'status', status: 403 } }),
  },
  {
    name: 'Mimecast 403 forbidden',
    api: 1,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['permission'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'status', status: 403 } }),
  },
  {
    name: 'Mimecast 429: a short reset waited out, a long one parks the stream',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['throttled'],
    faults: (r) => {
      r.simulator.inject({
        path: '/api/audit/get-audit-events',
        nth: 1,
        fault: { kind: 'throttle', hint: 'reset-ms', waitMs: 250 },
      });
      r.simulator.inject({
        path: '/api/ttp/url/get-logs',
        times: Infinity,
        fault: { kind: 'throttle', hint: 'reset-epoch-seconds', waitMs: 3_600_000 },
      });
    },
  },
  {
    name: 'Mimecast 429 with a reset in milliseconds',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['throttled'],
    faults: (r) =>
      r.simulator.inject({
        path: API_PATHS[1],
        times: Infinity,
        fault: { kind: 'throttle', waitMs: 600_000 },
      }),
  },
  {
    name: 'Mimecast 500 on every call',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['transient'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'status', status: 500 } }),
  },
  {
    name: 'Mimecast 500 on every call',
    api: 2,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['transient'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[2], times: Infinity, fault: { kind: 'status', status: 503 } }),
  },
  {
    name: 'malformed JSON bodies',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['protocol'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[2], times: Infinity, fault: { kind: 'malformed-json' } }),
  },
  {
    name: 'malformed JSON bodies',
    api: 1,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['protocol'],
    faults: (r) =>
      r.simulator.inject({ path: API_PATHS[1], times: Infinity, fault: { kind: 'malformed-json' } }),
  },
  {
    name: 'truncated bodies and connection resets',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['transient'],
    faults: (r) => {
      r.simulator.inject({
        path: API_PATHS[2],
        times: Infinity,
        fault: { kind: 'truncate', keepFraction: 0.4 },
      });
    },
  },
  {
    name: 'truncated bodies and connection resets',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['transient'],
    faults: (r) => {
      r.simulator.inject({ path: '/api/audit/get-siem-logs', times: Infinity, fault: { kind: 'truncate' } });
      r.simulator.inject({ path: '/api/audit/get-audit-events', times: Infinity, fault: { kind: 'reset' } });
    },
  },
  {
    name: 'fail[] in a 200 answer',
    api: 1,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['request', 'authentication'],
    faults: (r) => {
      r.simulator.inject({
        path: '/api/audit/get-audit-events',
        times: Infinity,
        fault: fail200('err_validation_blank_start', false),
      });
      r.simulator.inject({
        path: '/api/audit/get-siem-logs',
        times: Infinity,
        fault: fail200('err_xdk_invalid_signature', false),
      });
    },
  },
  {
    name: 'fail[] in a 200 answer',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['request', 'transient'],
    faults: (r) => {
      r.simulator.inject({
        path: '/api/audit/get-audit-events',
        times: Infinity,
        fault: fail200('err_request_invalid', false),
      });
      r.simulator.inject({
        path: /^\/(siem|api\/ttp)\//,
        times: Infinity,
        fault: fail200('service_busy', true),
      });
    },
  },
  {
    name: 'token endpoint refuses the client (401)',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['authentication'],
    faults: (r) =>
      r.simulator.inject({ path: '/oauth/token', times: Infinity, fault: { kind: 'status', status: 401 } }),
  },
  {
    name: 'token endpoint answers fail[] in a 200',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['authentication'],
    faults: (r) =>
      r.simulator.inject({
        path: '/oauth/token',
        times: Infinity,
        fault: fail200('InvalidClientIdentifier', false),
      }),
  },
  {
    name: 'token answer malformed',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['protocol'],
    faults: (r) =>
      r.simulator.inject({ path: '/oauth/token', times: Infinity, fault: { kind: 'malformed-json' } }),
  },
  {
    name: 'token answer truncated, then reset',
    api: 2,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['transient'],
    faults: (r) => {
      r.simulator.inject({ path: '/oauth/token', nth: 1, fault: { kind: 'truncate', keepFraction: 0.5 } });
      r.simulator.inject({
        path: '/oauth/token',
        after: 1,
        times: Infinity,
        fault: { kind: 'reset', keepFraction: 0.6 },
      });
    },
  },
  {
    // An API gateway that quotes what it was sent (as the receiver-echo case, on the Mimecast side).
    name: 'Mimecast 401 quoting the bearer token it was sent',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: false,
    expect: ['ok', 'authentication'],
    beforeWarm: (r) => {
      const sent = r.simulator.requests().find((q) => /^Bearer /.test(String(q.headers.authorization)));
      r.simulator.inject({
        path: API_PATHS[2],
        times: Infinity,
        fault: {
          kind: 'status',
          status: 401,
          code: 'token_invalid',
          message: `Access token rejected: Authorization: ${String(sent?.headers.authorization)} (client ${r.simulator.credentials.v2.clientId})`,
        },
      });
    },
  },
  {
    name: 'token endpoint 400 quoting the form it was sent',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['authentication'],
    faults: (r) => {
      const { clientId, clientSecret } = r.simulator.credentials.v2;
      r.simulator.inject({
        path: '/oauth/token',
        times: Infinity,
        fault: {
          kind: 'status',
          status: 400,
          code: 'invalid_request',
          message: `Malformed request body: ${new URLSearchParams({ client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials' })}`,
        },
      });
    },
  },
  {
    name: 'Mimecast 401 quoting the access key and application it was sent',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['authentication'],
    faults: (r) => {
      const { accessKey, appId } = r.simulator.credentials.v1;
      r.simulator.inject({
        path: API_PATHS[1],
        times: Infinity,
        fault: {
          kind: 'status',
          status: 401,
          code: 'err_xdk_invalid_signature',
          message: `0004 Invalid Signature for access key ${accessKey} and application ${appId}`,
        },
      });
    },
  },
  {
    name: 'expired batch URLs',
    api: 2,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['transient'],
    faults: (r) =>
      r.simulator.inject({ path: BATCH_FILE_PATH, times: Infinity, fault: { kind: 'expire-batch-url' } }),
  },

  // --- receiver faults
  {
    name: 'receiver 401',
    api: 1,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['sink-rejected'],
    faults: (r) => r.receiver.inject({ kind: 'status', status: 401 }),
  },
  {
    name: 'receiver 403',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: true,
    expect: ['sink-rejected'],
    faults: (r) => r.receiver.inject({ kind: 'status', status: 403 }),
  },
  {
    name: 'HEC refuses an invalid token (403 code 4)',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['sink-rejected'],
    secret: (doc) => {
      doc.sinkToken = WRONG_SINK_TOKEN;
    },
  },
  {
    name: 'NDJSON receiver refuses a wrong bearer token',
    api: 1,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['sink-rejected'],
    secret: (doc) => {
      doc.sinkToken = WRONG_SINK_TOKEN;
    },
  },
  {
    name: 'receiver 400 echoing the request',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['sink-rejected'],
    faults: (r) =>
      r.receiver.inject({
        kind: 'status',
        status: 400,
        contentType: 'application/json',
        body: echoingBody(r, 'splunk-hec', SINK_TOKENS['splunk-hec']),
      }),
  },
  {
    name: 'receiver 400 echoing the request',
    api: 1,
    sink: 'ndjson',
    wrap: true,
    cli: true,
    expect: ['sink-rejected'],
    faults: (r) =>
      r.receiver.inject({
        kind: 'status',
        status: 400,
        contentType: 'application/json',
        body: echoingBody(r, 'ndjson', SINK_TOKENS.ndjson),
      }),
  },
  {
    name: 'receiver 429 echoing the request, then accepts',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['ok'],
    faults: (r) =>
      r.receiver.inject({
        kind: 'status',
        status: 429,
        retryAfter: 0,
        body: echoingBody(r, 'ndjson', SINK_TOKENS.ndjson),
      }),
  },
  {
    name: 'receiver resets the connection, 503s, then accepts',
    api: 1,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['ok'],
    faults: (r) =>
      r.receiver.inject(
        { kind: 'reset' },
        { kind: 'status', status: 503, body: echoingBody(r, 'splunk-hec', SINK_TOKENS['splunk-hec']) },
        { kind: 'reset' },
      ),
  },

  {
    name: 'receiver redirects to a URL carrying the token',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: true,
    expect: ['sink-rejected'],
    faults: (r) =>
      r.receiver.inject({
        kind: 'redirect',
        location: `http://collector:${SINK_TOKENS.ndjson}@127.0.0.1:9/ingest?token=${SINK_TOKENS.ndjson}`,
      }),
  },
  {
    // Splunk accepts `?token=` when enabled; the URL is configuration, so the collector must not print it whole.
    name: 'sink URL carrying the HEC token in its query',
    api: 1,
    sink: 'splunk-hec',
    wrap: false,
    cli: true,
    expect: ['sink-rejected'],
    sinkUrl: (r) => `${r.receiver.url}?token=${SINK_TOKENS['splunk-hec']}`,
  },

  // --- secret faults (the Lambda reads the secret; the CLI takes the environment)
  {
    name: 'wrong client secret: authentication error, secret read again',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: false,
    expect: ['authentication'],
    secret: (doc) => {
      doc.clientSecret = WRONG_CLIENT_SECRET;
    },
    verify: (r) => expect(secretReads(r)).toBe(2),
  },
  {
    name: 'wrong secret key: authentication error, secret read again',
    api: 1,
    sink: 'ndjson',
    wrap: false,
    cli: false,
    expect: ['authentication'],
    secret: (doc) => {
      doc.secretKey = WRONG_SECRET_KEY;
    },
    verify: (r) => expect(secretReads(r)).toBe(2),
  },
  {
    name: 'wrong client secret rotated to the right one during the tick: retried with the new one',
    api: 2,
    sink: 'ndjson',
    wrap: true,
    cli: false,
    expect: ['ok'],
    secret: (doc) => {
      doc.clientSecret = WRONG_CLIENT_SECRET;
    },
    // The first token request is held long enough for the test to rotate the secret behind it.
    faults: (r) => r.simulator.inject({ path: '/oauth/token', nth: 1, fault: { kind: 'delay', ms: 400 } }),
    during: async (r) => {
      for (let i = 0; i < 200 && !r.world.aws.calls().some((c) => c.operation === 'GetSecretValue'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      r.storeSecret(r.document());
    },
    verify: (r) => {
      expect(secretReads(r)).toBe(2);
      expect(bearerTokensSent(r).size).toBeGreaterThanOrEqual(1);
    },
  },
  {
    name: 'KMS-wrapped field under the wrong encryption context',
    api: 2,
    sink: 'splunk-hec',
    wrap: true,
    cli: false,
    expect: ['secret'],
    secret: (doc, r) => {
      const creds = r.simulator.credentials.v2;
      doc.clientSecret = `kms:${r.world.aws.encrypt(creds.clientSecret, { collector: 'another-instance' })}`;
    },
  },
  {
    name: 'placeholder secret',
    api: 1,
    sink: 'ndjson',
    wrap: false,
    cli: false,
    expect: ['secret'],
    secretText: () => '{"configured":false}',
  },
  {
    name: 'secret that is not JSON but holds the credentials',
    api: 2,
    sink: 'ndjson',
    wrap: false,
    cli: false,
    expect: ['secret'],
    secretText: (r) =>
      `clientId=${r.simulator.credentials.v2.clientId}\nclientSecret=${r.simulator.credentials.v2.clientSecret}\nsinkToken=${SINK_TOKENS.ndjson}`,
  },
  {
    name: 'secret key that is not canonical base64, and an unknown apiVersion field type',
    api: 1,
    sink: 'splunk-hec',
    wrap: true,
    cli: false,
    expect: ['secret'],
    secret: (doc, r) => {
      const key = r.simulator.credentials.v1.secretKey;
      doc.secretKey = `${key.slice(0, 20)} ${key.slice(20)}`;
      doc.appKey = 12345 as unknown as string;
    },
  },
  {
    name: 'sink token with a line break',
    api: 2,
    sink: 'splunk-hec',
    wrap: false,
    cli: false,
    expect: ['config'],
    secret: (doc) => {
      doc.sinkToken = `${SINK_TOKENS['splunk-hec']}\nX-Injected: ${SINK_TOKENS['splunk-hec']}`;
    },
  },
];
