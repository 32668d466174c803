import fc from 'fast-check';
import { createLeakScanner, scanForSecrets, secretEncodings } from './leak-scan';

const secretKey = Buffer.from('0123456789abcdef0123456789abcdef-hmac-key').toString('base64');

describe('leak scan', () => {
  it('produces every encoding of each secret', () => {
    const encodings = secretEncodings({ appKey: 'a+b/c d?e', secretKey });
    const forAppKey = Object.fromEntries(
      encodings.filter((e) => e.secret === 'appKey').map((e) => [e.encoding, e.text]),
    );
    expect(forAppKey).toMatchObject({
      raw: 'a+b/c d?e',
      base64: Buffer.from('a+b/c d?e').toString('base64').replace(/=+$/, ''),
      base64url: Buffer.from('a+b/c d?e').toString('base64url'),
      hex: Buffer.from('a+b/c d?e').toString('hex'),
      url: 'a%2Bb%2Fc%20d%3Fe',
      form: 'a%2Bb%2Fc+d%3Fe',
      splunk: 'Splunk a+b/c d?e',
      bearer: 'Bearer a+b/c d?e',
    });
    const decoded = Buffer.from(secretKey, 'base64');
    const forSecretKey = encodings.filter((e) => e.secret === 'secretKey').map((e) => e.text);
    expect(forSecretKey).toEqual(
      expect.arrayContaining([
        decoded.toString('hex'),
        decoded.toString('hex').toUpperCase(),
        decoded.toString('base64url'),
      ]),
    );
  });

  it.each([
    ['raw', (s: string) => `x-mc-app-key: ${s}`],
    ['base64', (s: string) => `blob=${Buffer.from(s).toString('base64')}`],
    ['base64url', (s: string) => `t=${Buffer.from(s).toString('base64url')}`],
    ['hex', (s: string) => `0x${Buffer.from(s).toString('hex')}`],
    ['HEX', (s: string) => Buffer.from(s).toString('hex').toUpperCase()],
    ['url', (s: string) => `?secret=${encodeURIComponent(s)}`],
    ['json-escaped', (s: string) => JSON.stringify({ s })],
    [
      'basic auth (embedded base64)',
      (s: string) => `Basic ${Buffer.from(`client-id:${s}`).toString('base64')}`,
    ],
  ])('finds a secret printed as %s', (_label, print) => {
    const secret = 'p@ss "w/rd" + 7%';
    expect(scanForSecrets(`before ${print(secret)} after`, [secret]).length).toBeGreaterThan(0);
  });

  it('finds the decoded bytes of a base64 secret key printed as hex', () => {
    const text = `hmac key ${Buffer.from(secretKey, 'base64').toString('hex')}`;
    expect(scanForSecrets(text, { secretKey }).map((f) => f.encoding)).toContain('decoded-hex');
  });

  it('reports the offset and the encoding, and describes findings without the secret', () => {
    const scanner = createLeakScanner({ sinkToken: 'hec-token-0000' });
    const findings = scanner.scan('abc Splunk hec-token-0000');
    expect(findings).toEqual(
      expect.arrayContaining([
        { secret: 'sinkToken', encoding: 'raw', offset: 11 },
        { secret: 'sinkToken', encoding: 'splunk', offset: 4 },
      ]),
    );
    const description = scanner.describe(findings, 'the log');
    expect(description).toContain('secret sinkToken as splunk at offset 4');
    expect(description).not.toContain('hec-token-0000');
    expect(scanner.describe([], 'the log')).toBe('no secret found in the log');
  });

  it('finds every occurrence, not only the first', () => {
    expect(
      scanForSecrets('k3y-v4lue k3y-v4lue k3y-v4lue', ['k3y-v4lue']).filter((f) => f.encoding === 'raw'),
    ).toHaveLength(3);
  });

  it('refuses secrets too short to scan for', () => {
    expect(() => secretEncodings(['abc'])).toThrow(/too short/);
  });

  it('finds nothing in ordinary output that does not hold the secrets', () => {
    const output = [
      '{"level":"INFO","message":"Stream siem: caught-up","service":"mimecast-collector","instance":"prod"}',
      '{"_aws":{"CloudWatchMetrics":[{"Namespace":"MimecastCollector"}]},"StreamsFailed":0}',
      'Authorization: [REDACTED] x-mc-app-id: 00000000-0000-0000-0000-000000000000',
    ].join('\n');
    const secrets = {
      appKey: 'f3c1a9e7-55b2-4d7e-9a0c-2b6d8e4f1a3c',
      secretKey,
      clientSecret: 'Zq8LmN2pR5tV7wX9yB1cD3eF',
      sinkToken: '6a1f0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
    };
    expect(createLeakScanner(secrets).scan(output)).toEqual([]);
  });

  it('finds any secret embedded in any text, raw or base64 (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 40 }),
        fc.string({ maxLength: 50 }),
        fc.string({ maxLength: 50 }),
        (secret, before, after) => {
          const raw = scanForSecrets(`${before}${secret}${after}`, [secret]);
          const b64 = scanForSecrets(Buffer.from(`${before}${secret}${after}`).toString('base64'), [secret]);
          return raw.length > 0 && b64.length > 0;
        },
      ),
    );
  });
});
