/** The Entra token endpoint and the Logs Ingestion (Sentinel) receiver, driven over real HTTP. */
import { gzipSync } from 'node:zlib';
import { type EntraTokenEndpoint, MONITOR_SCOPE, startEntraTokenEndpoint } from '.';
import { envelope, receiverTestKit } from './test-support';

const kit = receiverTestKit();
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function entra(
  options: Parameters<typeof startEntraTokenEndpoint>[0] = {},
): Promise<EntraTokenEndpoint> {
  return kit.track(await startEntraTokenEndpoint(options));
}

function credentialsForm(e: EntraTokenEndpoint, overrides: Record<string, string | undefined> = {}): string {
  const fields: Record<string, string | undefined> = {
    grant_type: 'client_credentials',
    client_id: e.clientId,
    client_secret: e.clientSecret,
    scope: MONITOR_SCOPE,
    ...overrides,
  };
  return new URLSearchParams(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  ).toString();
}

async function token(e: EntraTokenEndpoint, scope = MONITOR_SCOPE): Promise<string> {
  const answer = await kit.send(e.tokenUrl, credentialsForm(e, { scope }), form);
  expect(answer.status).toBe(200);
  return answer.json().access_token;
}

describe('Entra token endpoint', () => {
  it('issues a Bearer token for the client credentials grant, in Entra shape', async () => {
    const e = await entra({ tokenLifetimeSeconds: 3599 });
    expect(e.tokenUrl).toBe(`${e.authority}/${e.tenantId}/oauth2/v2.0/token`);
    const answer = await kit.send(e.tokenUrl, credentialsForm(e), form);
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body).toEqual({
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(e.issued()).toEqual([
      expect.objectContaining({ accessToken: body.access_token, audience: 'https://monitor.azure.com' }),
    ]);
    expect(e.verify(body.access_token)).toMatchObject({ ok: true, clientId: e.clientId });
    expect(e.verify(`${body.access_token}x`)).toEqual({ ok: false, reason: 'signature' });
  });

  it.each([
    ['an unknown tenant', 'tenant', {}, 400, 'invalid_request', 90002],
    ['no grant_type', 'ok', { grant_type: undefined }, 400, 'invalid_request', 900144],
    ['another grant type', 'ok', { grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
    [
      'an unknown client id',
      'ok',
      { client_id: 'f0f0f0f0-0000-0000-0000-000000000000' },
      400,
      'unauthorized_client',
      700016,
    ],
    [
      'a scope without /.default',
      'ok',
      { scope: 'https://monitor.azure.com/' },
      400,
      'invalid_scope',
      1002012,
    ],
    [
      'an unknown resource',
      'ok',
      { scope: 'https://example.invalid/.default' },
      400,
      'invalid_resource',
      500011,
    ],
    ['no secret', 'ok', { client_secret: undefined }, 401, 'invalid_client', 7000218],
    ['a wrong secret', 'ok', { client_secret: 'not-the-secret' }, 401, 'invalid_client', 7000215],
  ] as const)(
    'refuses %s with its AADSTS error, never echoing the secret',
    async (_name, tenant, overrides, status, error, code) => {
      const e = await entra();
      const url = tenant === 'tenant' ? `${e.authority}/other-tenant/oauth2/v2.0/token` : e.tokenUrl;
      const answer = await kit.send(url, credentialsForm(e, overrides), form);
      expect(answer.status).toBe(status);
      const body = answer.json();
      expect(body).toMatchObject({
        error,
        error_codes: [code],
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
        trace_id: expect.any(String),
        correlation_id: expect.any(String),
        timestamp: expect.any(String),
      });
      expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: `, 's'));
      expect(answer.text).not.toContain(e.clientSecret);
      expect(e.issued()).toHaveLength(0);
    },
  );

  it('refuses an expired secret with AADSTS7000222, and injected faults like Entra answers', async () => {
    const e = await entra();
    e.expireSecret();
    expect((await kit.send(e.tokenUrl, credentialsForm(e), form)).json().error_codes).toEqual([7000222]);
    e.reset();
    e.inject(
      { kind: 'status', status: 429, retryAfter: 5 },
      { kind: 'aadsts', code: 7000215 },
      { kind: 'reset' },
    );
    const throttled = await kit.send(e.tokenUrl, credentialsForm(e), form);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('5');
    expect(throttled.json().error).toBe('temporarily_unavailable');
    expect((await kit.send(e.tokenUrl, credentialsForm(e), form)).status).toBe(401);
    await expect(kit.send(e.tokenUrl, credentialsForm(e), form)).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/),
    });
    expect(await token(e)).toMatch(/\./);
  });
});

describe('Logs Ingestion (Sentinel) receiver', () => {
  async function rig() {
    const e = await entra();
    const r = await kit.start({
      kind: 'sentinel',
      sentinel: {
        entra: e,
        dcrImmutableId: 'dcr-00112233445566778899aabbccddeeff',
        stream: 'Custom-Mimecast_CL',
      },
    });
    return { e, r };
  }
  const rows = (...ns: number[]) => JSON.stringify(ns.map((n) => envelope(n)));

  it('accepts a JSON array with 204 and no body, gzip or plain, the envelope fields at the top level', async () => {
    const { e, r } = await rig();
    expect(r.url).toBe(
      `${r.origin}/dataCollectionRules/dcr-00112233445566778899aabbccddeeff/streams/Custom-Mimecast_CL?api-version=2023-01-01`,
    );
    const auth = { authorization: `Bearer ${await token(e)}`, 'content-type': 'application/json' };
    const answer = await kit.send(r.url, gzipSync(rows(1, 2)), { ...auth, 'content-encoding': 'gzip' });
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect((await kit.send(r.url, rows(3), auth)).status).toBe(204);
    expect(r.ids()).toEqual(['id-1', 'id-2', 'id-3']);
    expect(r.received()[0]).toEqual(envelope(1));
  });

  it('answers 413 ContentLengthLimitExceeded past 1 MB on the wire, before looking at the token', async () => {
    const { r } = await rig();
    const body = JSON.stringify([envelope(1, 'siem', { pad: 'z'.repeat(1_048_576) })]);
    const answer = await kit.send(r.url, body, { 'content-type': 'application/json' });
    expect(answer.status).toBe(413);
    expect(answer.json()).toEqual({
      error: {
        code: 'ContentLengthLimitExceeded',
        message: `Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: ${Buffer.byteLength(body)} bytes.`,
      },
    });
  });

  it('takes gzip under 1 MB whose JSON is larger, and refuses past 50 MiB decompressed', async () => {
    const { e, r } = await rig();
    const auth = { authorization: `Bearer ${await token(e)}`, 'content-encoding': 'gzip' };
    const twoMb = gzipSync(JSON.stringify([envelope(1, 'siem', { pad: 'a'.repeat(2_000_000) })]));
    expect(twoMb.length).toBeLessThan(1_048_576);
    expect((await kit.send(r.url, twoMb, auth)).status).toBe(204);
    const huge = gzipSync(JSON.stringify([envelope(2, 'siem', { pad: 'b'.repeat(52_500_000) })]), {
      level: 1,
    });
    const answer = await kit.send(r.url, huge, auth);
    expect(answer.status).toBe(413);
    expect(answer.json().error.code).toBe('PayloadSizeLimitExceeded');
    expect(r.ids()).toEqual(['id-1']);
  });

  it('truncates field values over 64 KB and says so', async () => {
    const { e, r } = await rig();
    const auth = { authorization: `Bearer ${await token(e)}` };
    expect(
      (await kit.send(r.url, JSON.stringify([envelope(1, 'siem', { pad: 'c'.repeat(70_000) })]), auth))
        .status,
    ).toBe(204);
    const [item] = r.items();
    expect(item.truncated).toBe(true);
    expect(Buffer.byteLength(item.envelope.event as string)).toBe(64 * 1024);
    expect(r.requests()[0].warning).toMatch(/truncated/);
  });

  it('answers 401 for a missing, forged or expired token and InvalidAudience for another resource', async () => {
    const { e, r } = await rig();
    const good = await token(e);
    expect((await kit.send(r.url, rows(1))).json().error.code).toBe('InvalidToken');
    expect((await kit.send(r.url, rows(1), { authorization: `Bearer ${good}x` })).status).toBe(401);
    const management = await token(e, 'https://management.azure.com/.default');
    const wrong = await kit.send(r.url, rows(1), { authorization: `Bearer ${management}` });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error.code).toBe('InvalidAudience');
    e.expireTokens();
    const expired = await kit.send(r.url, rows(1), { authorization: `Bearer ${good}` });
    expect(expired.status).toBe(401);
    expect(expired.json().error.code).toBe('TokenExpired');
    expect((await kit.send(r.url, rows(2), { authorization: `Bearer ${await token(e)}` })).status).toBe(204);
    expect(r.ids()).toEqual(['id-2']);
  });

  it('answers 403 OperationFailed to a client without the role on the rule, or another rule', async () => {
    const e = await entra();
    const r = await kit.start({
      kind: 'sentinel',
      sentinel: { entra: e, authorizedClientIds: ['someone-else'] },
    });
    const auth = { authorization: `Bearer ${await token(e)}` };
    const answer = await kit.send(r.url, rows(1), auth);
    expect(answer.status).toBe(403);
    expect(answer.json().error).toEqual({
      code: 'OperationFailed',
      message: expect.stringMatching(
        /^The authentication token provided does not have access to ingest data for the data collection rule with immutable Id 'dcr-[0-9a-f]{32}'\.$/,
      ),
    });
    const { e: e2, r: r2 } = await rig();
    const other = await kit.send(
      `${r2.origin}/dataCollectionRules/dcr-ffff/streams/Custom-Mimecast_CL?api-version=2023-01-01`,
      rows(1),
      {
        authorization: `Bearer ${await token(e2)}`,
      },
    );
    expect(other.status).toBe(403);
  });

  it('answers a lone JSON object with 204 and stores nothing, as Azure does', async () => {
    const { e, r } = await rig();
    const auth = { authorization: `Bearer ${await token(e)}` };
    expect(
      (await kit.send(r.url, JSON.stringify({ TimeGenerated: envelope(1).time, ...envelope(1) }), auth))
        .status,
    ).toBe(204);
    expect(r.received()).toHaveLength(0);
  });

  it('refuses a wrong api-version, an undeclared stream and a body that is not an array of objects', async () => {
    const { e, r } = await rig();
    const auth = { authorization: `Bearer ${await token(e)}` };
    expect((await kit.send(r.url.replace('2023-01-01', '2020-01-01'), rows(1), auth)).json().error.code).toBe(
      'InvalidApiVersion',
    );
    expect(
      (await kit.send(r.url.replace('Custom-Mimecast_CL', 'Custom-Other_CL'), rows(1), auth)).json().error
        .code,
    ).toBe('InvalidStream');
    expect((await kit.send(r.url, JSON.stringify([envelope(1), [1]]), auth)).json().error.code).toBe(
      'InvalidPayload',
    );
    expect((await kit.send(r.url, '[{', auth)).status).toBe(400);
    expect(r.received()).toHaveLength(0);
  });

  it('throttles with 429 and Retry-After, fails with 503, in Azure error shape', async () => {
    const { e, r } = await rig();
    const auth = { authorization: `Bearer ${await token(e)}` };
    r.inject({ kind: 'status', status: 429, retryAfter: 17 }, { kind: 'status', status: 503 });
    const throttled = await kit.send(r.url, rows(1), auth);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('17');
    expect(throttled.json().error.code).toBe('TooManyRequests');
    expect((await kit.send(r.url, rows(1), auth)).json().error.code).toBe('ServiceUnavailable');
    expect((await kit.send(r.url, rows(1), auth)).status).toBe(204);
    expect(r.ids()).toEqual(['id-1']);
  });

  it('checks a static bearer token when no token endpoint is given', async () => {
    const r = await kit.start({ kind: 'sentinel', token: 'static-bearer' });
    expect((await kit.send(r.url, rows(1), { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await kit.send(r.url, rows(1), { authorization: 'Bearer static-bearer' })).status).toBe(204);
  });
});
