import { createHmac } from 'node:crypto';
import { authorizationHeader, mcDate, v1AuthHeaders } from '../../lambda/mimecast/signing';

const base = {
  accessKey: 'AccessKey',
  secretKey: 'U2VjcmV0S2V5',
  appKey: 'ApplicationKey',
  date: 'Sun, 21 Aug 2022 13:49:40 UTC',
  requestId: '3d796b76-4180-40e5-8f7c-6e0fd643b1a9',
};

describe('API 1.0 signature (docs/mimecast-api.md A.4)', () => {
  it('matches the published vector', () => {
    expect(authorizationHeader({ ...base, path: '/api/test/some-url' })).toBe(
      'MC AccessKey:WOywLsnZlsE+D6bp/ug6uch5kxc=',
    );
  });

  it.each([
    ['/api/audit/get-siem-logs', '/E9f3imOLVOG2Jz9hcCVHcyz8Bc='],
    ['/api/audit/get-audit-events', 'lu3KtMlmlYrj4w6zuR/+Hk75EHY='],
    ['/api/ttp/url/get-logs', 'Qv9k+ulgrVl3LEBgUMgYqdgmV/k='],
  ])('matches the extra vector for %s', (path, signature) => {
    expect(authorizationHeader({ ...base, path })).toBe(`MC AccessKey:${signature}`);
  });

  it('signs date and request id exactly as given', () => {
    expect(
      authorizationHeader({
        ...base,
        date: 'Tue, 24 Nov 2015 12:50:11 UTC',
        requestId: '8578FCFC-A305-4D9A-99CB-F4D5ECEFE297',
        path: '/api/audit/get-siem-logs',
      }),
    ).toBe('MC AccessKey:c36MRSHrQHLy/lWY1ZXARv1P8KY=');
    expect(
      authorizationHeader({
        ...base,
        date: 'Sun, 21 Aug 2022 13:49:40 GMT',
        path: '/api/audit/get-siem-logs',
      }),
    ).toBe('MC AccessKey:4Qa8VMe8rDgqcsqkJu53UANATVY=');
  });
});

describe('x-mc-date', () => {
  it('is RFC 1123 ending in UTC, zero-padded', () => {
    expect(mcDate(Date.UTC(2022, 7, 21, 13, 49, 40))).toBe('Sun, 21 Aug 2022 13:49:40 UTC');
    expect(mcDate(Date.UTC(2015, 10, 4, 2, 5, 9))).toBe('Wed, 04 Nov 2015 02:05:09 UTC');
  });
});

describe('v1AuthHeaders', () => {
  const credentials = {
    apiVersion: 1 as const,
    appId: 'the-app',
    appKey: 'ApplicationKey',
    accessKey: 'AccessKey',
    secretKey: 'U2VjcmV0S2V5',
  };

  it('sends the four headers, signed over the headers it sends', () => {
    const headers = v1AuthHeaders(
      credentials,
      '/api/test/some-url',
      Date.UTC(2022, 7, 21, 13, 49, 40),
      base.requestId,
    );
    expect(headers).toEqual({
      authorization: 'MC AccessKey:WOywLsnZlsE+D6bp/ug6uch5kxc=',
      'x-mc-date': 'Sun, 21 Aug 2022 13:49:40 UTC',
      'x-mc-req-id': base.requestId,
      'x-mc-app-id': 'the-app',
    });
  });

  it('uses a fresh lower-case uuid per call and a signature that verifies', () => {
    const a = v1AuthHeaders(credentials, '/api/audit/get-audit-events', Date.now());
    const b = v1AuthHeaders(credentials, '/api/audit/get-audit-events', Date.now());
    expect(a['x-mc-req-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a['x-mc-req-id']).not.toBe(b['x-mc-req-id']);
    const expected = createHmac('sha1', Buffer.from('SecretKey'))
      .update(`${a['x-mc-date']}:${a['x-mc-req-id']}:/api/audit/get-audit-events:ApplicationKey`)
      .digest('base64');
    expect(a.authorization).toBe(`MC AccessKey:${expected}`);
  });
});
