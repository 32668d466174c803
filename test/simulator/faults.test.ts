import { request } from 'undici';
import { type RunningSimulator, startSimulator } from './index';
import { isLoopbackAddress } from './server';
import { header, http, json, testClock, v1Caller, v2Caller } from './sim-client';

const DLP = '/api/dlp/get-logs';
const SIEM = '/api/audit/get-siem-logs';
const clock = testClock();
const window = { from: '2025-06-04T00:00:00+0000', to: '2025-06-05T12:00:00+0000' };

describe('fault injection', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ now: clock.now, events: { dlp: 30, siem: 40 } });
  });
  afterAll(() => sim.stop());
  afterEach(() => sim.clearFaults());

  const dlp = (api: 1 | 2 = 1) =>
    api === 1
      ? v1Caller(sim, clock.now).post(DLP, { data: [window] })
      : v2Caller(sim).then((caller) => caller.post(DLP, { data: [window] }));

  describe('429 with each kind of hint', () => {
    test('X-RateLimit-Reset in milliseconds (v1 documented form)', async () => {
      sim.inject({ path: DLP, fault: { kind: 'throttle', hint: 'reset-ms', waitMs: 2500 } });
      const result = await dlp();
      expect(result.status).toBe(429);
      expect(header(result, 'x-ratelimit-reset')).toBe('2500');
      expect(header(result, 'x-ratelimit-remaining')).toBe('0');
      expect(json(result).fail[0].errors[0]).toMatchObject({ retryable: true });
      expect((await dlp()).status).toBe(200);
    });

    test('X-RateLimit-Reset as an epoch in seconds', async () => {
      sim.inject({ path: DLP, fault: { kind: 'throttle', hint: 'reset-epoch-seconds', waitMs: 5000 } });
      const result = await dlp(2);
      expect(result.status).toBe(429);
      expect(Number(header(result, 'x-ratelimit-reset'))).toBe(Math.ceil((clock.now() + 5000) / 1000));
      expect(json(result).fail[0].message).toMatch(/rate limit/i);
    });

    test('Retry-After in seconds', async () => {
      sim.inject({ path: DLP, fault: { kind: 'throttle', hint: 'retry-after', waitMs: 3200 } });
      const result = await dlp();
      expect(header(result, 'retry-after')).toBe('4');
      expect(header(result, 'x-ratelimit-reset')).toBeUndefined();
    });

    test('no hint at all', async () => {
      sim.inject({ path: DLP, fault: { kind: 'throttle', hint: 'none' } });
      const result = await dlp();
      expect(result.status).toBe(429);
      expect(header(result, 'retry-after')).toBeUndefined();
      expect(header(result, 'x-ratelimit-reset')).toBeUndefined();
    });
  });

  test('a token bucket throttles bursts and refills on the simulator clock', async () => {
    sim.inject({ path: DLP, fault: { kind: 'token-bucket', capacity: 2, refillPerSecond: 0.5 } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await dlp()).status);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await dlp();
    expect(Number(header(limited, 'x-ratelimit-reset'))).toBe(2000);
    clock.advance(2000);
    expect((await dlp()).status).toBe(200);
    expect((await dlp()).status).toBe(429);
  });

  test('nth, after and times pick the calls', async () => {
    sim.inject({ path: DLP, nth: 2, fault: { kind: 'status', status: 500 } });
    sim.inject({ path: DLP, after: 3, times: 2, fault: { kind: 'status', status: 503 } });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await dlp()).status);
    expect(statuses).toEqual([200, 500, 200, 503, 503, 200, 200]);
  });

  test('rules match by method and API version; other paths are unaffected', async () => {
    sim.inject({
      path: /\/get-logs$/,
      api: 2,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 502 },
    });
    expect((await dlp(1)).status).toBe(200);
    expect((await dlp(2)).status).toBe(502);
    expect((await dlp(2)).status).toBe(502);
    sim.clearFaults();
    expect((await dlp(2)).status).toBe(200);
  });

  test('5xx bodies: JSON fail for 500, an HTML gateway page for 502/503', async () => {
    sim.inject({ path: DLP, fault: { kind: 'status', status: 500 } });
    const internal = await dlp();
    expect(json(internal).fail[0].errors[0]).toMatchObject({
      code: 'err_internal_server_error',
      retryable: true,
    });
    sim.inject({ path: DLP, fault: { kind: 'status', status: 503 } });
    const unavailable = await dlp();
    expect(header(unavailable, 'content-type')).toBe('text/html');
    expect(unavailable.body.toString()).toContain('503');
  });

  test('401, 403 and 418 on demand, in each dialect', async () => {
    sim.inject({
      path: DLP,
      fault: {
        kind: 'status',
        status: 403,
        code: 'app_forbidden',
        message: 'Forbidden to perform the requested operation',
      },
    });
    const forbidden = await dlp(2);
    expect(forbidden.status).toBe(403);
    expect(json(forbidden)).toEqual({
      fail: [{ code: 'app_forbidden', message: 'Forbidden to perform the requested operation' }],
    });
    sim.inject({ path: DLP, fault: { kind: 'status', status: 403, code: 'err_xdk_product_not_licensed' } });
    const unlicensed = await dlp(1);
    expect(json(unlicensed).fail[0].errors[0].code).toBe('err_xdk_product_not_licensed');
    sim.inject({ path: DLP, fault: { kind: 'status', status: 418 } });
    expect(json(await dlp(1)).fail[0].errors[0].code).toBe('err_xdk_binding_expired');
    sim.inject({ path: DLP, fault: { kind: 'status', status: 401 } });
    const unauthorized = await dlp(1);
    expect(unauthorized.status).toBe(401);
    expect(json(unauthorized).fail[0].errors[0].code).toBe('err_xdk_invalid_signature');
  });

  test('fail[] inside HTTP 200, retryable or not as chosen', async () => {
    sim.inject({
      path: DLP,
      fault: { kind: 'fail-200', code: 'err_temporarily_unavailable', retryable: true },
    });
    const result = await dlp();
    expect(result.status).toBe(200);
    const body = json(result);
    expect(body.data).toEqual([]);
    expect(body.fail[0]).toEqual({
      key: window,
      errors: [
        { code: 'err_temporarily_unavailable', message: 'err_temporarily_unavailable', retryable: true },
      ],
    });
  });

  test('malformed JSON: HTTP 200, JSON content type, unparseable body', async () => {
    sim.inject({ path: DLP, fault: { kind: 'malformed-json' } });
    const result = await dlp();
    expect(result.status).toBe(200);
    expect(header(result, 'content-type')).toBe('application/json');
    expect(() => JSON.parse(result.body.toString())).toThrow();
  });

  test('a delay before the headers', async () => {
    sim.inject({ path: DLP, fault: { kind: 'delay', ms: 300 } });
    const started = Date.now();
    const result = await dlp();
    expect(result.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('a stall in the middle of the body: headers arrive at once, the body only after the delay', async () => {
    sim.inject({ path: DLP, fault: { kind: 'delay', ms: 800, phase: 'mid-body' } });
    const path = DLP;
    const { signedV1Headers } = await import('./signature');
    const started = Date.now();
    const res = await request(sim.url + path, {
      method: 'POST',
      headers: signedV1Headers(sim.credentials.v1, path, { at: clock.now() }),
      body: JSON.stringify({ data: [window] }),
    });
    const headersAfter = Date.now() - started;
    const text = await res.body.text();
    expect(headersAfter).toBeLessThan(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(790);
    expect(JSON.parse(text).fail).toEqual([]);
  });

  test('a truncated body: Content-Length promised, connection closed early', async () => {
    sim.inject({ path: SIEM, fault: { kind: 'truncate', keepFraction: 0.3 } });
    const { signedV1Headers } = await import('./signature');
    const res = await request(sim.url + SIEM, {
      method: 'POST',
      headers: signedV1Headers(sim.credentials.v1, SIEM, { at: clock.now() }),
      body: JSON.stringify({ data: [{ type: 'MTA', fileFormat: 'json', compress: true }] }),
    });
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    await expect(res.body.arrayBuffer()).rejects.toThrow();
  });

  test('a connection reset mid-body', async () => {
    sim.inject({ path: DLP, fault: { kind: 'reset' } });
    const { signedV1Headers } = await import('./signature');
    const res = await request(sim.url + DLP, {
      method: 'POST',
      headers: signedV1Headers(sim.credentials.v1, DLP, { at: clock.now() }),
      body: JSON.stringify({ data: [window] }),
    });
    await expect(res.body.text()).rejects.toThrow();
    expect((await dlp()).status).toBe(200);
  });

  test('an invalid SIEM token on demand, for an otherwise valid token', async () => {
    const caller = v1Caller(sim, clock.now);
    const first = await caller.post(SIEM, { data: [{ type: 'MTA', fileFormat: 'json', compress: true }] });
    const token = header(first, 'mc-siem-token');
    sim.inject({ path: SIEM, fault: { kind: 'invalid-siem-token' } });
    const refused = await caller.post(SIEM, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true, token }],
    });
    expect(json(refused).fail[0].errors[0].code).toBe('err_audit_siem_invalid_token');
    const accepted = await caller.post(SIEM, {
      data: [{ type: 'MTA', fileFormat: 'json', compress: true, token }],
    });
    expect(header(accepted, 'mc-siem-token')).toBeDefined();
  });

  test('an expired batch-file URL on demand', async () => {
    const caller = await v2Caller(sim);
    const [entry] = json(await caller.get('/siem/v1/batch/events/cg?pageSize=1')).value;
    sim.inject({ path: /\.json\.gz$/, fault: { kind: 'expire-batch-url' } });
    const expired = await http(entry.url);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('Request has expired');
    expect((await http(entry.url)).status).toBe(200);
  });

  test('requests() records status and the fault that shaped each answer', async () => {
    sim.clearRequests();
    sim.inject({ path: DLP, fault: { kind: 'status', status: 500 } });
    await dlp();
    await dlp();
    const recorded = sim.requests();
    expect(recorded.map((r) => [r.method, r.path, r.status, r.fault, r.api])).toEqual([
      ['POST', DLP, 500, 'status', 1],
      ['POST', DLP, 200, undefined, 1],
    ]);
    expect(JSON.parse(recorded[0].body)).toEqual({ data: [window] });
    expect(recorded[0].headers['x-mc-app-id']).toBe(sim.credentials.v1.appId);
  });

  test('an invalid rule is refused with every problem named', () => {
    expect(() => sim.inject({ path: 'no-slash', fault: { kind: 'truncate', keepFraction: 2 } })).toThrow(
      /path.*keepFraction|keepFraction.*path/s,
    );
  });
});

describe('built-in per-user rate limit', () => {
  test('v1 answers carry X-RateLimit-* headers and a 429 when the quota runs out', async () => {
    const sim = await startSimulator({
      now: clock.now,
      events: { dlp: 3 },
      rateLimit: { capacity: 2, refillPerSecond: 1 },
    });
    try {
      const caller = v1Caller(sim, clock.now);
      const first = await caller.post(DLP, { data: [window] });
      expect(header(first, 'x-ratelimit-limit')).toBe('2');
      expect(header(first, 'x-ratelimit-remaining')).toBe('1');
      await caller.post(DLP, { data: [window] });
      const limited = await caller.post(DLP, { data: [window] });
      expect(limited.status).toBe(429);
      expect(header(limited, 'x-ratelimit-reset')).toBe('1000');
      // API 2.0 callers have their own quota, and no X-RateLimit-* headers until they exceed it.
      const v2 = await v2Caller(sim);
      const ok = await v2.post(DLP, { data: [window] });
      expect(ok.status).toBe(200);
      expect(header(ok, 'x-ratelimit-limit')).toBeUndefined();
      await v2.post(DLP, { data: [window] });
      const v2Limited = await v2.post(DLP, { data: [window] });
      expect(v2Limited.status).toBe(429);
      expect(json(v2Limited).fail[0]).toMatchObject({ code: 'rate_limit_exceeded' });
      expect(header(v2Limited, 'x-ratelimit-reset')).toBe('1000');
    } finally {
      await sim.stop();
    }
  });
});

describe('admin endpoints', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ now: clock.now, events: { audit: 12 } });
  });
  afterAll(() => sim.stop());

  test('ground truth over HTTP equals groundTruth()', async () => {
    const result = await http(`${sim.url}/__admin/ground-truth?stream=audit&api=1`);
    expect(json(result)).toEqual(sim.groundTruth('audit', 1));
    expect((await http(`${sim.url}/__admin/ground-truth?stream=nope`)).status).toBe(400);
  });

  test('publish and faults over HTTP', async () => {
    const published = await http(`${sim.url}/__admin/publish`, {
      method: 'POST',
      body: JSON.stringify({ stream: 'audit', count: 3, lateBySeconds: 60 }),
    });
    expect(json(published)).toEqual({ published: 3 });
    expect(sim.groundTruth('audit', 1)).toHaveLength(15);
    const copies = await http(`${sim.url}/__admin/publish`, {
      method: 'POST',
      body: JSON.stringify({ stream: 'dlp', count: 2, identical: true }),
    });
    expect(json(copies)).toEqual({ published: 2 });
    const dlp = sim.groundTruth('dlp', 1).map((r) => JSON.stringify(r));
    expect(dlp.at(-1)).toBe(dlp.at(-2));
    const rule = await http(`${sim.url}/__admin/faults`, {
      method: 'POST',
      body: JSON.stringify({
        pathPattern: '^/api/audit/',
        times: 'always',
        fault: { kind: 'status', status: 503 },
      }),
    });
    expect(rule.status).toBe(200);
    const path = '/api/audit/get-audit-events';
    const call = () =>
      v1Caller(sim, clock.now).post(path, {
        data: [{ startDateTime: '2025-06-04T00:00:00Z', endDateTime: '2025-06-05T12:00:00Z' }],
      });
    expect((await call()).status).toBe(503);
    expect((await call()).status).toBe(503);
    expect((await http(`${sim.url}/__admin/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await call()).status).toBe(200);
    const bad = await http(`${sim.url}/__admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ fault: { kind: 'explode' } }),
    });
    expect(bad.status).toBe(400);
  });

  test('admin calls are not recorded, and only loopback peers are served', async () => {
    sim.clearRequests();
    await http(`${sim.url}/__admin/requests`);
    expect(sim.requests()).toEqual([]);
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.7')).toBe(false);
    expect(isLoopbackAddress('::ffff:192.168.1.2')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });

  test('the listener is bound to 127.0.0.1', () => {
    expect(new URL(sim.url).hostname).toBe('127.0.0.1');
  });
});
