import fc from 'fast-check';
import {
  isPlaceholderSecret,
  PLACEHOLDER_SECRET,
  secretValuesOf,
  toSecretDocument,
  validateCredentialsDocument,
} from '../../lambda/secrets/document';
import { createLeakScanner } from '../support/leak-scan';

const V1 = {
  apiVersion: 1,
  appId: '5e8a3c1d-0b7f-4e2a-9c6d-1f2e3a4b5c6d',
  appKey: '7d9f1b3a-2c4e-4f6a-8b0c-9d1e2f3a4b5c',
  accessKey: 'mYtOPSecretAccessKeyForTheMimecastServiceUser_0123456789abcdef',
  secretKey: Buffer.from('an hmac key of some length, 32+ bytes').toString('base64'),
};
const V2 = { apiVersion: 2, clientId: 'client-id-0123456789', clientSecret: 'client-secret-abcdefghij' };

describe('validateCredentialsDocument', () => {
  it('accepts API 1.0 credentials and trims pasted whitespace', () => {
    const check = validateCredentialsDocument({ ...V1, appKey: `  ${V1.appKey}\n` });
    expect(check).toEqual({
      ok: true,
      value: {
        mimecast: {
          apiVersion: 1,
          appId: V1.appId,
          appKey: V1.appKey,
          accessKey: V1.accessKey,
          secretKey: V1.secretKey,
        },
      },
    });
  });

  it('accepts API 2.0 credentials with a sink token, ignoring unknown fields', () => {
    const check = validateCredentialsDocument({ ...V2, sinkToken: 'hec-token-123', comment: 'x' });
    expect(check).toEqual({
      ok: true,
      value: {
        mimecast: { apiVersion: 2, clientId: V2.clientId, clientSecret: V2.clientSecret },
        sinkToken: 'hec-token-123',
      },
    });
  });

  it('takes the sentinel Entra app as three fields together, and refuses one or two of them', () => {
    const azure = {
      azureTenantId: 'tenant-0123',
      azureClientId: 'app-0123',
      azureClientSecret: 'entra~secret~0123',
    };
    expect(validateCredentialsDocument({ ...V2, ...azure })).toEqual({
      ok: true,
      value: {
        mimecast: { apiVersion: 2, clientId: V2.clientId, clientSecret: V2.clientSecret },
        azure: { tenantId: 'tenant-0123', clientId: 'app-0123', clientSecret: 'entra~secret~0123' },
      },
    });
    const partial = validateCredentialsDocument({ ...V1, azureClientSecret: azure.azureClientSecret });
    expect(partial.ok).toBe(false);
    if (!partial.ok) {
      expect(partial.problems.map((p) => p.field)).toEqual(['azureTenantId', 'azureClientId']);
      expect(JSON.stringify(partial.problems)).not.toContain(azure.azureClientSecret);
    }
  });

  it('accepts apiVersion given as a string', () => {
    expect(validateCredentialsDocument({ ...V2, apiVersion: '2' }).ok).toBe(true);
  });

  it('reports every missing or malformed field, by name', () => {
    const check = validateCredentialsDocument({
      apiVersion: 1,
      appId: 'x',
      appKey: '',
      accessKey: 42,
      secretKey: 'not base64!',
    });
    expect(check).toEqual({
      ok: false,
      problems: [
        { field: 'appKey', problem: 'is empty' },
        { field: 'accessKey', problem: 'must be a string' },
        { field: 'secretKey', problem: expect.stringMatching(/^is not valid base64/) },
      ],
    });
    const missing = validateCredentialsDocument({ apiVersion: 2 });
    expect(missing).toEqual({
      ok: false,
      problems: [
        { field: 'clientId', problem: 'is missing (required for API 2.0)' },
        { field: 'clientSecret', problem: 'is missing (required for API 2.0)' },
      ],
    });
  });

  it.each([
    ['missing', {}],
    ['wrong', { apiVersion: 3 }],
  ])('explains a %s apiVersion with the fields of each version', (_label, doc) => {
    const check = validateCredentialsDocument({
      ...V1,
      ...doc,
      apiVersion: (doc as { apiVersion?: number }).apiVersion,
    });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.problems[0]).toEqual({
      field: 'apiVersion',
      problem: expect.stringMatching(
        /set 1 for API 1\.0 \(appId, appKey, accessKey, secretKey\) or 2 for API 2\.0 \(clientId, clientSecret\)/,
      ),
    });
  });

  it.each(['YWJj ZGVm', 'YWJjZA', 'YWJjZA=', 'YW=jZA==', '====', 'YWJjZA==YWJj'])(
    'refuses the secretKey %j as not base64',
    (secretKey) => {
      expect(validateCredentialsDocument({ ...V1, secretKey }).ok).toBe(false);
    },
  );

  it('accepts a secretKey pasted with a trailing line break', () => {
    const check = validateCredentialsDocument({ ...V1, secretKey: 'YWJjZA==\n' });
    expect(check.ok && check.value.mimecast).toMatchObject({ secretKey: 'YWJjZA==' });
  });

  it('never echoes a value in its problems (property)', () => {
    const value = fc.string({ minLength: 6, maxLength: 60 }).filter((s) => s.trim().length >= 6);
    const anything = fc.oneof(
      value,
      fc.integer(),
      fc.constant(''),
      fc.constant(null),
      fc.array(value, { maxLength: 2 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2),
        fc.record(
          {
            appId: anything,
            appKey: anything,
            accessKey: anything,
            secretKey: anything,
            clientId: anything,
            clientSecret: anything,
            sinkToken: anything,
          },
          { requiredKeys: [] },
        ),
        (apiVersion, fields) => {
          const check = validateCredentialsDocument({ apiVersion, ...fields });
          if (check.ok) return true;
          const secrets = Object.values(fields).flatMap((v) =>
            typeof v === 'string' && v.trim().length >= 6 ? [v, v.trim()] : Array.isArray(v) ? v : [],
          );
          if (secrets.length === 0) return true;
          return createLeakScanner(secrets).scan(JSON.stringify(check.problems)).length === 0;
        },
      ),
    );
  });
});

describe('placeholder and conversions', () => {
  it('recognises the placeholder the stack writes, and an empty object', () => {
    expect(isPlaceholderSecret(JSON.parse('{"configured":false}'))).toBe(true);
    expect(isPlaceholderSecret(PLACEHOLDER_SECRET)).toBe(true);
    expect(isPlaceholderSecret({ configured: 'false' })).toBe(true);
    expect(isPlaceholderSecret({})).toBe(true);
    expect(isPlaceholderSecret(V2)).toBe(false);
    expect(isPlaceholderSecret('{"configured":false}')).toBe(false);
  });

  it('round-trips credentials through the secret document', () => {
    const azure = {
      azureTenantId: 'tenant-0123',
      azureClientId: 'app-0123',
      azureClientSecret: 'entra~secret~0123',
    };
    for (const doc of [V1, { ...V2, sinkToken: 'tok-123456' }, { ...V1, ...azure }]) {
      const check = validateCredentialsDocument(doc);
      expect(check.ok).toBe(true);
      if (check.ok) expect(toSecretDocument(check.value)).toEqual(doc);
    }
  });

  it('lists every secret value for the redactor', () => {
    const check = validateCredentialsDocument({ ...V2, sinkToken: 'tok-123456' });
    expect(check.ok && secretValuesOf(check.value).sort()).toEqual(
      [V2.clientId, V2.clientSecret, 'tok-123456'].sort(),
    );
  });
});
