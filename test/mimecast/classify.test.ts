import {
  AuthenticationError,
  InvalidSiemTokenError,
  PermissionError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../../lambda/errors';
import {
  type CallContext,
  excerpt,
  failureError,
  failuresOf,
  httpError,
  retryAfterMs,
} from '../../lambda/mimecast/classify';

const v1: CallContext = {
  stream: 'audit',
  endpoint: 'POST /api/audit/get-audit-events',
  apiVersion: 1,
  permission: 'Account | Logs | Read',
  role: 'api',
};
const v2: CallContext = { ...v1, apiVersion: 2, permission: 'Audit Events' };
const NOW = Date.UTC(2024, 5, 5, 12, 0, 0);

const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const nested = (code: string, retryable = false, message = `${code} message`) => ({
  meta: { status: 200 },
  data: [],
  fail: [{ key: {}, errors: [{ code, message, retryable }] }],
});

describe('failuresOf', () => {
  it('reads the nested 1.0 shape, the flat 2.0 shape and {error}', () => {
    expect(failuresOf(nested('err_a', true))).toEqual([
      { code: 'err_a', message: 'err_a message', retryable: true },
    ]);
    expect(failuresOf({ fail: [{ code: 'app_forbidden', message: 'Forbidden' }] })).toEqual([
      { code: 'app_forbidden', message: 'Forbidden', retryable: undefined },
    ]);
    expect(failuresOf({ error: { code: 'Request Validation Failed', message: 'bad' } })).toEqual([
      { code: 'Request Validation Failed', message: 'bad', retryable: undefined },
    ]);
    expect(failuresOf({ fail: [] })).toEqual([]);
    expect(failuresOf('text')).toEqual([]);
    expect(failuresOf(null)).toEqual([]);
  });
});

describe('httpError', () => {
  it.each([
    [401, nested('err_xdk_invalid_signature', false, '0004 Invalid Signature'), AuthenticationError],
    [418, nested('err_xdk_binding_expired'), AuthenticationError],
    [
      403,
      { fail: [{ code: 'app_forbidden', message: 'Forbidden to perform the requested operation' }] },
      PermissionError,
    ],
    [403, nested('err_xdk_binding_expired'), AuthenticationError],
    [500, {}, TransientError],
    [502, 'Bad gateway', TransientError],
    [503, {}, TransientError],
    [408, {}, TransientError],
    [404, {}, RequestError],
    [400, nested('err_validation_blank'), RequestError],
    [400, nested('err_audit_siem_invalid_token'), InvalidSiemTokenError],
    [301, {}, RequestError],
  ])('HTTP %i %j → %p', (status, answer, type) => {
    const error = httpError(v1, status, {}, body(answer), NOW);
    expect(error).toBeInstanceOf(type);
    expect(error.status).toBe(status);
    expect(error.endpoint).toBe('POST /api/audit/get-audit-events');
    expect(error.stream).toBe('audit');
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('names codes, Mimecast messages and the permission needed', () => {
    const error = httpError(
      v1,
      403,
      {},
      body(nested('err_xdk_forbidden', false, 'Forbidden')),
      NOW,
    ) as PermissionError;
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.codes).toEqual(['err_xdk_forbidden']);
    expect(error.message).toContain('err_xdk_forbidden');
    expect(error.message).toContain('Forbidden');
    expect(error.requiredPermission).toBe('Account | Logs | Read');
    expect(error.remedy).toContain('Account | Logs | Read');
    expect(error.retryable).toBe(false);
  });

  it('says how to fix an expired 1.0 binding and bad 2.0 client credentials', () => {
    expect(httpError(v1, 418, {}, body(nested('err_xdk_binding_expired')), NOW).remedy).toMatch(
      /binding expired/,
    );
    const token: CallContext = { ...v2, endpoint: 'POST /oauth/token', role: 'token' };
    const refused = httpError(token, 400, {}, body({ error: 'invalid_client' }), NOW);
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect(refused.remedy).toMatch(/client id and client secret/);
  });

  it('maps 429 to ThrottledError with the reset hint, never retried here', () => {
    const error = httpError(
      v1,
      429,
      { 'x-ratelimit-reset': '2500' },
      body({ fail: [{ message: 'slow down' }] }),
      NOW,
    );
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(2500);
  });
});

describe('failureError (fail[] inside HTTP 200)', () => {
  it.each([
    ['err_audit_siem_invalid_token', false, InvalidSiemTokenError],
    ['err_xdk_binding_expired', false, AuthenticationError],
    ['InvalidClientIdentifier', false, AuthenticationError],
    ['app_forbidden', false, PermissionError],
    ['err_feature_not_licensed', false, PermissionError],
    ['err_audit_log_incorrect_region', false, RequestError],
    ['err_validation_null', false, RequestError],
    ['err_server_busy', true, TransientError],
  ])('%s (retryable %s) → %p', (code, retryable, type) => {
    const error = failureError(v1, 200, failuresOf(nested(code, retryable)));
    expect(error).toBeInstanceOf(type);
    expect(error.codes).toEqual([code]);
    expect(error.status).toBe(200);
  });

  it('tells how to recover from an invalid SIEM token', () => {
    const error = failureError(
      { ...v1, stream: 'siem' },
      200,
      failuresOf(nested('err_audit_siem_invalid_token')),
    );
    expect(error.remedy).toMatch(/[Rr]eset the siem stream checkpoint/);
    expect(error.remedy).toMatch(/7 days/);
  });

  it('says which region host to use', () => {
    expect(failureError(v1, 200, failuresOf(nested('err_audit_log_incorrect_region'))).remedy).toMatch(
      /regional API host/,
    );
  });
});

describe('retryAfterMs', () => {
  it('prefers Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after': '7', 'x-ratelimit-reset': '100' }, NOW)).toBe(7000);
    expect(retryAfterMs({ 'retry-after': new Date(NOW + 30_000).toUTCString() }, NOW)).toBe(30_000);
  });

  it('reads X-RateLimit-Reset as milliseconds, or as an epoch when ≥ 1e9', () => {
    expect(retryAfterMs({ 'x-ratelimit-reset': '1500' }, NOW)).toBe(1500);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(NOW / 1000 + 20) }, NOW)).toBe(20_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(NOW + 45_000) }, NOW)).toBe(45_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(NOW / 1000 - 20) }, NOW)).toBe(0);
  });

  it('falls back to the default and caps absurd values', () => {
    expect(retryAfterMs({}, NOW)).toBe(60_000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, NOW, 1234)).toBe(1234);
    expect(retryAfterMs({ 'retry-after': '999999' }, NOW)).toBe(3_600_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': ['300', '9'] }, NOW)).toBe(300);
  });
});

describe('excerpt', () => {
  it('is printable and at most 200 characters', () => {
    const text = excerpt(
      Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff]), Buffer.alloc(500, 0x41)]),
    );
    expect(text.startsWith('PK....')).toBe(true);
    expect(text.length).toBe(200);
    expect(excerpt('a\nb\tc')).toBe('a.b.c');
  });
});

describe('CollectorError.forStream', () => {
  it('names the stream that met a shared failure, keeping class, codes and cause', () => {
    const tokenCtx = {
      ...v2,
      stream: 'siem' as const,
      endpoint: 'POST /oauth/token',
      role: 'token' as const,
    };
    const cause = new Error('underlying');
    const shared = failureError(tokenCtx, 401, [
      { code: 'InvalidClientIdentifier', message: 'stream siem-ci' },
    ]);
    Object.defineProperty(shared, 'cause', { value: cause });
    const audit = shared.forStream('audit');
    expect(audit).toBeInstanceOf(AuthenticationError);
    expect(audit).toMatchObject({
      stream: 'audit',
      endpoint: 'POST /oauth/token',
      status: 401,
      codes: ['InvalidClientIdentifier'],
    });
    expect(audit.message).toContain('(stream audit, POST /oauth/token, HTTP 401');
    // Only the stream's own name is replaced, not a longer id that starts with it.
    expect(audit.message).toContain('stream siem-ci');
    expect(audit.cause).toBe(cause);
    expect(shared.stream).toBe('siem');
    expect(shared.forStream('siem')).toBe(shared);
  });
});
