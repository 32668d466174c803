import { formatRfc1123 } from './dates';
import { type RunningSimulator, startSimulator } from './index';
import { mcSignature, signedV1Headers } from './signature';
import { fetchToken, header, http, json, testClock, v1Caller } from './sim-client';

describe('API 1.0 signature (docs/mimecast-api.md A.4 vectors)', () => {
  const secret = 'U2VjcmV0S2V5';
  const date = 'Sun, 21 Aug 2022 13:49:40 UTC';
  const reqId = '3d796b76-4180-40e5-8f7c-6e0fd643b1a9';

  test.each([
    ['/api/test/some-url', date, reqId, 'WOywLsnZlsE+D6bp/ug6uch5kxc='],
    ['/api/audit/get-siem-logs', date, reqId, '/E9f3imOLVOG2Jz9hcCVHcyz8Bc='],
    ['/api/audit/get-audit-events', date, reqId, 'lu3KtMlmlYrj4w6zuR/+Hk75EHY='],
    ['/api/ttp/url/get-logs', date, reqId, 'Qv9k+ulgrVl3LEBgUMgYqdgmV/k='],
    [
      '/api/audit/get-siem-logs',
      'Tue, 24 Nov 2015 12:50:11 UTC',
      '8578FCFC-A305-4D9A-99CB-F4D5ECEFE297',
      'c36MRSHrQHLy/lWY1ZXARv1P8KY=',
    ],
    ['/api/audit/get-siem-logs', 'Sun, 21 Aug 2022 13:49:40 GMT', reqId, '4Qa8VMe8rDgqcsqkJu53UANATVY='],
  ])('%s with %s', (path, when, id, expected) => {
    expect(mcSignature(secret, when, id, path, 'ApplicationKey')).toBe(expected);
  });

  test('the published header', () => {
    const headers = signedV1Headers(
      { apiVersion: 1, appId: 'app', appKey: 'ApplicationKey', accessKey: 'AccessKey', secretKey: secret },
      '/api/test/some-url',
      { date, requestId: reqId },
    );
    expect(headers.authorization).toBe('MC AccessKey:WOywLsnZlsE+D6bp/ug6uch5kxc=');
  });

  test('the simulator accepts a request signed with the published vector credentials', async () => {
    const clock = testClock(Date.UTC(2022, 7, 21, 13, 49, 40));
    const sim = await startSimulator({
      now: clock.now,
      events: { audit: 5 },
      credentials: {
        v1: { accessKey: 'AccessKey', secretKey: secret, appKey: 'ApplicationKey', appId: 'app-id' },
      },
    });
    try {
      const path = '/api/audit/get-audit-events';
      const result = await http(sim.url + path, {
        method: 'POST',
        headers: {
          authorization: `MC AccessKey:${mcSignature(secret, date, reqId, path, 'ApplicationKey')}`,
          'x-mc-date': date,
          'x-mc-req-id': reqId,
          'x-mc-app-id': 'app-id',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          data: [{ startDateTime: '2022-08-20T00:00:00+0000', endDateTime: '2022-08-21T13:49:40+0000' }],
        }),
      });
      expect(result.status).toBe(200);
      expect(json(result).fail).toEqual([]);
    } finally {
      await sim.stop();
    }
  });
});

describe('API 1.0 authentication over HTTP', () => {
  const clock = testClock();
  let sim: RunningSimulator;
  const path = '/api/audit/get-audit-events';
  const body = {
    data: [{ startDateTime: '2025-06-04T00:00:00+0000', endDateTime: '2025-06-05T12:00:00+0000' }],
  };

  beforeAll(async () => {
    sim = await startSimulator({ now: clock.now, events: { audit: 20 } });
  });
  afterAll(() => sim.stop());

  function send(headers: Record<string, string>, to = path) {
    return http(sim.url + to, { method: 'POST', headers, body: JSON.stringify(body) });
  }

  test('a correctly signed call succeeds', async () => {
    const result = await v1Caller(sim, clock.now).post(path, body);
    expect(result.status).toBe(200);
    expect(json(result).meta.status).toBe(200);
  });

  test('a wrong signature gets 401 err_xdk_invalid_signature with the documented body', async () => {
    const headers = signedV1Headers(sim.credentials.v1, path, { at: clock.now() });
    headers.authorization = `MC ${sim.credentials.v1.accessKey}:WOywLsnZlsE+D6bp/ug6uch5kxc=`;
    const result = await send(headers);
    expect(result.status).toBe(401);
    expect(json(result)).toEqual({
      meta: { status: 401 },
      data: [],
      fail: [
        {
          errors: [
            { code: 'err_xdk_invalid_signature', message: '0004 Invalid Signature', retryable: false },
          ],
        },
      ],
    });
  });

  test('a signature over another path is refused', async () => {
    const headers = signedV1Headers(sim.credentials.v1, '/api/ttp/url/get-logs', { at: clock.now() });
    expect((await send(headers)).status).toBe(401);
  });

  test('a signature with another secret is refused', async () => {
    const headers = signedV1Headers({ ...sim.credentials.v1, secretKey: 'U2VjcmV0S2V5' }, path, {
      at: clock.now(),
    });
    expect((await send(headers)).status).toBe(401);
  });

  test('an unknown access key gets 418 err_xdk_binding_expired', async () => {
    const headers = signedV1Headers({ ...sim.credentials.v1, accessKey: 'someoneElse' }, path, {
      at: clock.now(),
    });
    const result = await send(headers);
    expect(result.status).toBe(418);
    expect(json(result).fail[0].errors[0].code).toBe('err_xdk_binding_expired');
  });

  test('a wrong application id is refused', async () => {
    const headers = signedV1Headers({ ...sim.credentials.v1, appId: 'not-the-app' }, path, {
      at: clock.now(),
    });
    expect((await send(headers)).status).toBe(401);
  });

  test.each(['authorization', 'x-mc-date', 'x-mc-req-id', 'x-mc-app-id'])(
    'missing %s gets 400',
    async (name) => {
      const headers = signedV1Headers(sim.credentials.v1, path, { at: clock.now() });
      delete headers[name];
      const result = await send(headers);
      expect(result.status).toBe(400);
      expect(json(result).fail[0].errors[0].message).toContain(name);
    },
  );

  test('a date more than 15 minutes off gets 401; 14 minutes is fine', async () => {
    const skewed = signedV1Headers(sim.credentials.v1, path, { at: clock.now() - 16 * 60_000 });
    const late = await send(skewed);
    expect(late.status).toBe(401);
    expect(json(late).fail[0].errors[0].code).toBe('err_xdk_invalid_date');
    const ahead = signedV1Headers(sim.credentials.v1, path, { at: clock.now() + 14 * 60_000 });
    expect((await send(ahead)).status).toBe(200);
  });

  test('GMT and UTC suffixes are both accepted by default', async () => {
    const gmt = signedV1Headers(sim.credentials.v1, path, { date: formatRfc1123(clock.now(), 'GMT') });
    expect((await send(gmt)).status).toBe(200);
  });

  test('a malformed date is refused', async () => {
    const headers = signedV1Headers(sim.credentials.v1, path, { date: new Date(clock.now()).toISOString() });
    expect((await send(headers)).status).toBe(401);
  });

  test('an expired binding gets 418', async () => {
    const other = await startSimulator({
      now: clock.now,
      events: { audit: 3 },
      v1BindingExpiresAt: clock.now() + 1000,
    });
    try {
      expect((await v1Caller(other, clock.now).post(path, body)).status).toBe(200);
      clock.advance(1000);
      const result = await v1Caller(other, clock.now).post(path, body);
      expect(result.status).toBe(418);
      expect(json(result).fail[0].errors[0].code).toBe('err_xdk_binding_expired');
    } finally {
      await other.stop();
    }
  });
});

test('variant v1DateSuffixes [UTC] refuses GMT', async () => {
  const sim = await startSimulator({ events: { audit: 3 }, variants: { v1DateSuffixes: ['UTC'] } });
  try {
    const path = '/api/audit/get-audit-events';
    const body = JSON.stringify({
      data: [{ startDateTime: '2025-06-04T00:00:00Z', endDateTime: '2025-06-05T00:00:00Z' }],
    });
    const gmt = signedV1Headers(sim.credentials.v1, path, { date: formatRfc1123(Date.now(), 'GMT') });
    expect((await http(sim.url + path, { method: 'POST', headers: gmt, body })).status).toBe(401);
    const utc = signedV1Headers(sim.credentials.v1, path, { date: formatRfc1123(Date.now(), 'UTC') });
    expect((await http(sim.url + path, { method: 'POST', headers: utc, body })).status).toBe(200);
  } finally {
    await sim.stop();
  }
});

describe('API 2.0 OAuth tokens and Bearer checks', () => {
  const clock = testClock();
  let sim: RunningSimulator;
  const path = '/api/audit/get-audit-events';
  const body = JSON.stringify({
    data: [{ startDateTime: '2025-06-04T00:00:00Z', endDateTime: '2025-06-05T12:00:00Z' }],
  });

  beforeAll(async () => {
    sim = await startSimulator({
      now: clock.now,
      events: { audit: 10 },
      tokenExpiresInSeconds: 600,
      tokenRateLimit: { capacity: 5, refillPerSecond: 1 },
    });
  });
  afterAll(() => sim.stop());

  const tokenRequest = (secret = sim.credentials.v2.clientSecret, grant = 'client_credentials') =>
    http(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: sim.credentials.v2.clientId,
        client_secret: secret,
        grant_type: grant,
      }).toString(),
    });

  test('issues a Bearer token with the configured lifetime', async () => {
    clock.advance(10_000);
    const result = await tokenRequest();
    expect(result.status).toBe(200);
    expect(json(result)).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 600,
      scope: '',
    });
  });

  test('bad client credentials get 401 with a flat fail[] by default', async () => {
    clock.advance(10_000);
    const result = await tokenRequest('wrong');
    expect(result.status).toBe(401);
    expect(json(result)).toEqual({
      fail: [{ code: 'InvalidClientIdentifier', message: 'Client credentials are invalid' }],
    });
  });

  test('a grant type other than client_credentials is refused', async () => {
    clock.advance(10_000);
    expect((await tokenRequest(undefined, 'password')).status).toBe(400);
  });

  test('every /api call needs a valid, unexpired Bearer token', async () => {
    clock.advance(10_000);
    const token = await fetchToken(sim);
    const call = (auth?: string) =>
      http(sim.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body,
      });
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    const unknown = await call('Bearer not-a-token');
    expect(unknown.status).toBe(401);
    expect(json(unknown).fail[0].code).toBe('token_invalid');
    clock.advance(600_000);
    const expired = await call(`Bearer ${token}`);
    expect(expired.status).toBe(401);
    expect(json(expired).fail[0].code).toBe('token_expired');
  });

  test('/siem calls need a Bearer token', async () => {
    const result = await http(`${sim.url}/siem/v1/batch/events/cg`);
    expect(result.status).toBe(401);
    expect(json(result).fail[0].code).toBe('token_missing');
  });

  test('the token endpoint is rate limited', async () => {
    clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await tokenRequest()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await tokenRequest();
    expect(limited.status).toBe(429);
    expect(Number(header(limited, 'x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(json(limited).fail[0].message).toMatch(/rate limit/i);
    clock.advance(1000);
    expect((await tokenRequest()).status).toBe(200);
  });

  test('revokeV2Tokens invalidates issued tokens', async () => {
    clock.advance(60_000);
    const token = await fetchToken(sim);
    sim.revokeV2Tokens();
    const result = await http(sim.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body,
    });
    expect(result.status).toBe(401);
  });
});

test('variant v2OAuthFailure 400-empty answers bad credentials with a bare 400', async () => {
  const sim = await startSimulator({ events: { audit: 1 }, variants: { v2OAuthFailure: '400-empty' } });
  try {
    const result = await http(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${sim.credentials.v2.clientId}&client_secret=nope&grant_type=client_credentials`,
    });
    expect(result.status).toBe(400);
    expect(result.body.length).toBe(0);
  } finally {
    await sim.stop();
  }
});
