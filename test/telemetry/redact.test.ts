import fc from 'fast-check';
import { encodedForms, REDACTED, SecretRedactor } from '../../lambda/telemetry/redact';
import { createLeakScanner } from '../support/leak-scan';

describe('SecretRedactor', () => {
  it('redacts a registered secret in any encoding of any text around it (property)', () => {
    const encoders: [string, (text: string) => string][] = [
      ['raw', (t) => t],
      ['json', (t) => JSON.stringify({ t })],
      ['base64', (t) => Buffer.from(t).toString('base64')],
      ['base64url', (t) => Buffer.from(t).toString('base64url')],
      ['hex', (t) => Buffer.from(t).toString('hex')],
      ['HEX', (t) => Buffer.from(t).toString('hex').toUpperCase()],
      ['url', (t) => encodeURIComponent(t)],
      ['form', (t) => new URLSearchParams({ t }).toString()],
    ];
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 48 }),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.constantFrom(...encoders),
        (secret, before, after, [, encode]) => {
          const redactor = new SecretRedactor();
          redactor.register([secret]);
          const out = redactor.redactText(encode(`${before}${secret}${after}`));
          return createLeakScanner([secret]).scan(out).length === 0 && out.includes(REDACTED);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('redacts the decoded bytes of a base64 secret key', () => {
    const secretKey = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const redactor = new SecretRedactor();
    redactor.register([secretKey]);
    const hex = Buffer.from(secretKey, 'base64').toString('hex');
    expect(redactor.redactText(`key=${hex}`)).toBe(`key=${REDACTED}`);
    expect(encodedForms(secretKey)).toContain(hex.toUpperCase());
  });

  it('ignores values too short to redact safely', () => {
    const redactor = new SecretRedactor();
    expect(redactor.register(['1', 'abc', '', undefined])).toBe(0);
    expect(redactor.redactText('1 abc')).toBe('1 abc');
  });

  it('leaves ordinary log text alone', () => {
    const redactor = new SecretRedactor();
    redactor.register(['f3c1a9e7-55b2-4d7e-9a0c-2b6d8e4f1a3c']);
    for (const text of [
      'Stream siem: caught-up after 3 pages (1200 events)',
      'Basic checks passed; authorization failed for app 42',
      'Bearer token refreshed',
      'MC signature rejected: err_xdk_invalid_signature',
    ]) {
      expect(redactor.redactText(text)).toBe(text);
    }
  });

  it('acts as a JSON replacer: sensitive keys, secret values and secrets used as keys', () => {
    const redactor = new SecretRedactor();
    redactor.register(['s3cret-value-123']);
    const json = JSON.stringify(
      {
        authorization: 'anything',
        clientSecret: { nested: true },
        note: 'has s3cret-value-123 inside',
        's3cret-value-123': 1,
        ok: 'fine',
        n: 5,
      },
      redactor.replacer,
    );
    expect(JSON.parse(json)).toEqual({
      authorization: REDACTED,
      clientSecret: REDACTED,
      note: `has ${REDACTED} inside`,
      [REDACTED]: 1,
      ok: 'fine',
      n: 5,
    });
  });
});
