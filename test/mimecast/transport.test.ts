import { createHmac } from 'node:crypto';
import { Agent } from 'undici';
import {
  AuthenticationError,
  CollectorError,
  PermissionError,
  ProtocolError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../../lambda/errors';
import { createMimecastClient, type MimecastClientOptions } from '../../lambda/mimecast';
import {
  budget,
  collect,
  json,
  memoryLog,
  startServer,
  type TestServer,
  v1Credentials,
  v2Credentials,
} from './support/server';

const AUDIT = '/api/audit/get-audit-events';
const NOW = Date.now();
const auditEvent = (n: number) => ({
  id: `ev-${n}`,
  auditType: 'User Logged On',
  user: 'a@example.com',
  eventTime: `${new Date(NOW - 3_600_000 + n * 1000).toISOString().slice(0, 19)}+0000`,
  category: 'authentication_logs',
});
const auditPage = (events: unknown[]) => ({
  meta: { status: 200, pagination: { pageSize: 500 } },
  data: events,
  fail: [],
});

let server: TestServer;
let dispatcher: Agent;

beforeEach(async () => {
  server = await startServer();
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
});
afterEach(async () => {
  await dispatcher.close();
  await server.close();
});

function client(overrides: Partial<MimecastClientOptions> = {}) {
  return createMimecastClient({
    baseUrl: server.url,
    credentials: v1Credentials,
    dispatcher,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...overrides,
  });
}

async function fetchAudit(c = client(), b = budget()) {
  const source = c.source('audit');
  const page = await source.fetchPage(source.seed(new Date(NOW - 7_200_000), new Date(NOW)), b);
  return collect(page.records);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<CollectorError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    return err as CollectorError;
  }
  throw new Error('expected a failure');
}

/** No secret, signature or token ever shows up in what an error says. */
function expectNoSecrets(error: CollectorError, secrets: string[]) {
  const text = `${error.message} ${error.remedy} ${JSON.stringify(error.toJSON())} ${String((error as ProtocolError).excerpt)}`;
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
  }
}

describe('API 1.0 requests', () => {
  it('are signed over the path with the headers sent, JSON in and out', async () => {
    server.handle((_req, res) => json(res, 200, auditPage([auditEvent(1)])));
    const records = await fetchAudit();
    expect(records).toHaveLength(1);
    const [req] = server.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(AUDIT);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-mc-app-id']).toBe(v1Credentials.appId);
    expect(req.headers['x-mc-date']).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} UTC$/);
    const signature = createHmac('sha1', Buffer.from(v1Credentials.secretKey, 'base64'))
      .update(`${req.headers['x-mc-date']}:${req.headers['x-mc-req-id']}:${AUDIT}:${v1Credentials.appKey}`)
      .digest('base64');
    expect(req.headers.authorization).toBe(`MC ${v1Credentials.accessKey}:${signature}`);
  });
});

describe('retries', () => {
  it('retries 5xx with a fresh request id, then succeeds', async () => {
    let calls = 0;
    server.handle((_, res) => {
      calls += 1;
      if (calls < 3) {
        json(res, 503, { fail: [{ message: 'busy' }] });
      } else {
        json(res, 200, auditPage([auditEvent(1)]));
      }
    });
    expect(await fetchAudit()).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['x-mc-req-id'])).size).toBe(3);
  });

  it('gives up after the attempts with a TransientError naming endpoint and status', async () => {
    server.handle((_, res) => json(res, 500, {}));
    const error = await failure(
      fetchAudit(client({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } })),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.status).toBe(500);
    expect(error.endpoint).toBe(`POST ${AUDIT}`);
    expect(error.stream).toBe('audit');
    expect(server.requests).toHaveLength(3);
  });

  it('retries a connection reset and a body cut short', async () => {
    let calls = 0;
    server.handle((_, res) => {
      calls += 1;
      if (calls === 1) {
        res.socket?.destroy();
      } else if (calls === 2) {
        const text = JSON.stringify(auditPage([auditEvent(1)]));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
        res.write(text.slice(0, 10));
        setTimeout(() => res.socket?.destroy(), 5);
      } else {
        json(res, 200, auditPage([auditEvent(1)]));
      }
    });
    expect(await fetchAudit()).toHaveLength(1);
    expect(calls).toBe(3);
  });

  it('retries a retryable fail[] but not a final one', async () => {
    let calls = 0;
    server.handle((_, res) => {
      calls += 1;
      const errors = [
        { code: calls === 1 ? 'err_busy' : 'err_validation_blank', message: 'm', retryable: calls === 1 },
      ];
      json(res, 200, { meta: { status: 200 }, data: [], fail: [{ errors }] });
    });
    const error = await failure(fetchAudit());
    expect(error).toBeInstanceOf(RequestError);
    expect(error.codes).toEqual(['err_validation_blank']);
    expect(calls).toBe(2);
  });

  it('never retries a 429: ThrottledError with the reset hint', async () => {
    server.handle((_, res) =>
      json(res, 429, { fail: [{ message: 'quota' }] }, { 'x-ratelimit-reset': '4200' }),
    );
    const error = await failure(fetchAudit());
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(4200);
    expect(server.requests).toHaveLength(1);
  });

  it('does not follow redirects', async () => {
    server.handle((_, res) => {
      res.writeHead(302, { location: `${server.url}/elsewhere` });
      res.end();
    });
    const error = await failure(fetchAudit());
    expect(error).toBeInstanceOf(RequestError);
    expect(error.status).toBe(302);
    expect(server.requests.map((r) => r.path)).toEqual([AUDIT]);
  });

  it('maps a malformed 200 body to ProtocolError with an excerpt, without retrying it', async () => {
    server.handle((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"meta":{"status":200},"data":[{"id"');
    });
    const error = (await failure(fetchAudit())) as ProtocolError;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.excerpt).toBe('{"meta":{"status":200},"data":[{"id"');
    expect(server.requests).toHaveLength(1);
  });
});

describe('time limits', () => {
  it('stops at the budget deadline when the server stalls', async () => {
    server.handle((_, res) => {
      setTimeout(() => json(res, 200, auditPage([])), 3000).unref();
    });
    const started = Date.now();
    const error = await failure(fetchAudit(client(), budget(300)));
    expect(error).toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops when the budget signal aborts', async () => {
    server.handle((_, res) => {
      setTimeout(() => json(res, 200, auditPage([])), 3000).unref();
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await failure(fetchAudit(client(), budget(10_000, controller.signal)));
    expect(error).toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not sleep past the deadline between retries', async () => {
    server.handle((_, res) => json(res, 503, {}));
    const started = Date.now();
    const error = await failure(
      fetchAudit(client({ retry: { maxAttempts: 10, baseDelayMs: 5000, maxDelayMs: 5000 } }), budget(400)),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('API 2.0 tokens', () => {
  function tokenServer(options: { lifetime?: number; refuseApi?: number } = {}) {
    let issued = 0;
    let refused = 0;
    server.handle((req, res) => {
      if (req.path === '/oauth/token') {
        issued += 1;
        const form = new URLSearchParams(req.body);
        if (
          form.get('client_secret') !== v2Credentials.clientSecret ||
          form.get('grant_type') !== 'client_credentials'
        ) {
          json(res, 401, {
            fail: [{ code: 'InvalidClientIdentifier', message: 'Client credentials are invalid' }],
          });
          return;
        }
        // A slow token endpoint, so concurrent callers overlap.
        setTimeout(
          () =>
            json(res, 200, {
              access_token: `tok-${issued}`,
              token_type: 'Bearer',
              expires_in: options.lifetime ?? 1799,
            }),
          50,
        );
        return;
      }
      if (refused < (options.refuseApi ?? 0)) {
        refused += 1;
        json(res, 401, { fail: [{ code: 'unauthorized', message: 'token expired' }] });
        return;
      }
      json(res, 200, auditPage([auditEvent(1)]));
    });
    return { issued: () => issued };
  }

  it('shares one token request between concurrent callers and sends it as Bearer only', async () => {
    const tokens = tokenServer();
    const c = client({ credentials: v2Credentials });
    await Promise.all(Array.from({ length: 8 }, () => fetchAudit(c)));
    expect(tokens.issued()).toBe(1);
    const apiCalls = server.requests.filter((r) => r.path === AUDIT);
    expect(apiCalls).toHaveLength(8);
    for (const req of apiCalls) {
      expect(req.headers.authorization).toBe('Bearer tok-1');
      expect(req.headers['x-mc-app-id']).toBeUndefined();
    }
    const tokenCall = server.requests.find((r) => r.path === '/oauth/token');
    expect(tokenCall?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(tokenCall?.headers.authorization).toBeUndefined();
  });

  it('refreshes 60 s before expiry', async () => {
    const tokens = tokenServer({ lifetime: 1799 });
    let now = NOW;
    const c = client({ credentials: v2Credentials, clock: { now: () => now } });
    await fetchAudit(c);
    now += (1799 - 61) * 1000;
    await fetchAudit(c);
    expect(tokens.issued()).toBe(1);
    now += 2000;
    await fetchAudit(c);
    expect(tokens.issued()).toBe(2);
    expect(server.requests.filter((r) => r.path === AUDIT).map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
  });

  it('on a 401 fetches a new token once and retries once', async () => {
    const tokens = tokenServer({ refuseApi: 1 });
    expect(await fetchAudit(client({ credentials: v2Credentials }))).toHaveLength(1);
    expect(tokens.issued()).toBe(2);
  });

  it('then gives up with AuthenticationError', async () => {
    const tokens = tokenServer({ refuseApi: 100 });
    const error = await failure(fetchAudit(client({ credentials: v2Credentials })));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.status).toBe(401);
    expect(tokens.issued()).toBe(2);
    expect(server.requests.filter((r) => r.path === AUDIT)).toHaveLength(2);
    expectNoSecrets(error, ['tok-1', 'tok-2', v2Credentials.clientSecret]);
  });

  it('reports refused client credentials as AuthenticationError at the token endpoint', async () => {
    tokenServer();
    const error = await failure(
      fetchAudit(client({ credentials: { ...v2Credentials, clientSecret: 'wrong-secret' } })),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.endpoint).toBe('POST /oauth/token');
    expect(error.codes).toEqual(['InvalidClientIdentifier']);
    expect(error.retryable).toBe(false);
    expectNoSecrets(error, ['wrong-secret', v2Credentials.clientId]);
  });

  it('never quotes a token answer it cannot use', async () => {
    server.handle((_, res) => json(res, 200, { access_token: 'secret-token-value', expires_in: 'soon' }));
    const error = await failure(fetchAudit(client({ credentials: v2Credentials })));
    expect(error).toBeInstanceOf(ProtocolError);
    expectNoSecrets(error, ['secret-token-value']);
  });

  it('maps a 403 to PermissionError naming the 2.0 product', async () => {
    server.handle((req, res) =>
      req.path === '/oauth/token'
        ? json(res, 200, { access_token: 't', expires_in: 1799 })
        : json(res, 403, {
            fail: [{ code: 'app_forbidden', message: 'Forbidden to perform the requested operation' }],
          }),
    );
    const error = (await failure(fetchAudit(client({ credentials: v2Credentials })))) as PermissionError;
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.requiredPermission).toBe('Audit Events');
    expect(error.codes).toEqual(['app_forbidden']);
  });
});

describe('API 1.0 errors never carry the signature or keys', () => {
  it('401 invalid signature', async () => {
    server.handle((_, res) =>
      json(res, 401, {
        meta: { status: 401 },
        data: [],
        fail: [
          {
            errors: [
              { code: 'err_xdk_invalid_signature', message: '0004 Invalid Signature', retryable: false },
            ],
          },
        ],
      }),
    );
    const log = memoryLog();
    const error = await failure(fetchAudit(client({ log })));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('err_xdk_invalid_signature');
    const signature = String(server.requests[0].headers.authorization);
    expectNoSecrets(error, [
      signature,
      signature.split(':')[1],
      v1Credentials.secretKey,
      v1Credentials.appKey,
    ]);
    expect(JSON.stringify(log.lines)).not.toContain(v1Credentials.secretKey);
  });
});
