/**
 * The credentials provider with the real SDK clients against the loopback Secrets Manager / KMS
 * stub: real requests, real ciphertexts, real modelled exceptions.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Log } from '../../lambda/core/ports';
import { ConfigError, SecretError } from '../../lambda/errors';
import type { CollectorCredentials } from '../../lambda/secrets/credentials';
import { encryptionContextFor, wrapSecretFields } from '../../lambda/secrets/kms-fields';
import { createCredentialsProvider, readCredentials, writeSecret } from '../../lambda/secrets/provider';
import { type AwsStub, startAwsStub } from '../aws-stub';
import { FakeClock } from '../kit/clock';
import { createLeakScanner } from '../support/leak-scan';

const SECRET = 'mimecast-collector/prod';
const INSTANCE = 'prod';

const V1: CollectorCredentials = {
  mimecast: {
    apiVersion: 1,
    appId: '5e8a3c1d-0b7f-4e2a-9c6d-1f2e3a4b5c6d',
    appKey: '7d9f1b3a-2c4e-4f6a-8b0c-9d1e2f3a4b5c',
    accessKey: 'mYtOPSecretAccessKeyForTheMimecastServiceUser_0123456789abcdef',
    secretKey: Buffer.from('the decoded hmac key bytes, 32 or more').toString('base64'),
  },
  sinkToken: 'b7c1e2d3-hec-token-4f5a-9b8c',
};
const V2: CollectorCredentials = {
  mimecast: { apiVersion: 2, clientId: 'cid-0123456789abcdef', clientSecret: 'csecret-ZYXWVUTSRQ-987654321' },
};
const ROTATED: CollectorCredentials = {
  mimecast: { apiVersion: 2, clientId: 'cid-0123456789abcdef', clientSecret: 'csecret-rotated-AAAABBBBCCCC' },
};

const flat = (c: CollectorCredentials) =>
  JSON.stringify({ ...c.mimecast, ...(c.sinkToken ? { sinkToken: c.sinkToken } : {}) });
const every = [V1, V2, ROTATED]
  .flatMap((c) => [...Object.values(c.mimecast), c.sinkToken])
  .filter((v): v is string => typeof v === 'string');
const leaks = createLeakScanner(every);

let stub: AwsStub;
let secretsManager: SecretsManagerClient;
let kms: KMSClient;

beforeEach(async () => {
  stub = await startAwsStub({ secrets: { [SECRET]: flat(V1) } });
  secretsManager = new SecretsManagerClient(stub.clientConfig());
  kms = new KMSClient(stub.clientConfig());
});

afterEach(async () => {
  secretsManager.destroy();
  kms.destroy();
  await stub.stop();
});

function provider(overrides: Partial<Parameters<typeof createCredentialsProvider>[0]> = {}) {
  return createCredentialsProvider({
    secretId: SECRET,
    instance: INSTANCE,
    secretsManager,
    kms,
    ...overrides,
  });
}

const reads = () => stub.calls().filter((c) => c.operation === 'GetSecretValue').length;

/** Every field of `credentials` wrapped by the stub's KMS directly (independent of wrapSecretFields). */
function wrappedDocument(credentials: CollectorCredentials, instance = INSTANCE, keyId?: string): string {
  const doc: Record<string, string | number> = JSON.parse(flat(credentials));
  for (const [field, value] of Object.entries(doc)) {
    if (typeof value === 'string')
      doc[field] = `kms:${stub.encrypt(value, encryptionContextFor(instance), keyId)}`;
  }
  return JSON.stringify(doc);
}

async function secretError(promise: Promise<unknown>): Promise<SecretError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SecretError);
    const e = error as SecretError;
    // Whatever went wrong, nothing a person or a log sees carries a credential.
    const visible = `${e.message}\n${e.remedy}\n${JSON.stringify(e.toJSON())}\n${String(e.stack)}`;
    expect(leaks.describe(leaks.scan(visible), 'the error')).toBe('no secret found in the error');
    return e;
  }
  throw new Error('expected a SecretError');
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('reading credentials', () => {
  it('reads plain API 1.0 credentials with a sink token', async () => {
    await expect(provider().get()).resolves.toEqual(V1);
  });

  it('reads fields KMS-wrapped under the instance encryption context', async () => {
    stub.putSecret(SECRET, wrappedDocument(V2));
    await expect(provider().get()).resolves.toEqual(V2);
    const decrypts = stub.calls().filter((c) => c.operation === 'Decrypt');
    expect(decrypts).toHaveLength(2);
    for (const call of decrypts) expect(call.params.EncryptionContext).toEqual({ collector: INSTANCE });
  });

  it('reads a mix of wrapped and plain fields', async () => {
    const doc = JSON.parse(flat(V1));
    doc.secretKey = `kms:${stub.encrypt(doc.secretKey, { collector: INSTANCE })}`;
    stub.putSecret(SECRET, JSON.stringify(doc));
    await expect(provider().get()).resolves.toEqual(V1);
    expect(stub.calls().filter((c) => c.operation === 'Decrypt')).toHaveLength(1);
  });

  it('names the field, not the value, when a field was wrapped for another instance', async () => {
    stub.putSecret(SECRET, wrappedDocument(V1, 'staging'));
    const error = await secretError(provider().get());
    expect(error.message).toMatch(
      /KMS refused to decrypt field (appId|appKey|accessKey|secretKey|sinkToken) of the secret/,
    );
    expect(error.message).toContain('encryption context collector=prod');
    expect(error.remedy).toContain('npx mimecast-collector configure');
    expect(error.retryable).toBe(false);
    expect(error.codes).toEqual(['InvalidCiphertextException']);
  });

  it('refuses a tampered ciphertext', async () => {
    const doc = JSON.parse(wrappedDocument(V2));
    const blob = Buffer.from(doc.clientSecret.slice(4), 'base64');
    blob[blob.length - 1]! ^= 0xff;
    doc.clientSecret = `kms:${blob.toString('base64')}`;
    stub.putSecret(SECRET, JSON.stringify(doc));
    const error = await secretError(provider().get());
    expect(error.message).toContain('field clientSecret');
  });

  it('refuses a kms: value that is not base64', async () => {
    stub.putSecret(
      SECRET,
      JSON.stringify({ ...JSON.parse(flat(V2)), clientSecret: 'kms:not base64 at all!' }),
    );
    const error = await secretError(provider().get());
    expect(error.message).toMatch(/Field clientSecret .* is not a base64 KMS ciphertext/);
    expect(stub.calls().filter((c) => c.operation === 'Decrypt')).toHaveLength(0);
  });

  it('explains KMS access denied for a wrapped field', async () => {
    stub.putSecret(SECRET, wrappedDocument(V2));
    stub.inject({ operation: 'Decrypt', fault: 'access-denied' });
    const error = await secretError(provider().get());
    expect(error.message).toMatch(/Not allowed to decrypt field client(Id|Secret)/);
    expect(error.remedy).toContain('kms:Decrypt');
  });

  it('says to run configure when the secret does not exist', async () => {
    const error = await secretError(provider({ secretId: 'no-such-secret' }).get());
    expect(error.message).toBe('Secrets Manager has no secret no-such-secret in this account and region.');
    expect(error.remedy).toMatch(/Check SECRET_ARN .* `npx mimecast-collector configure`/);
    expect(error.retryable).toBe(false);
    expect(error.endpoint).toBe('secretsmanager:GetSecretValue');
  });

  it('points at IAM when reading is denied', async () => {
    stub.inject({ operation: 'GetSecretValue', fault: 'access-denied' });
    const error = await secretError(provider().get());
    expect(error.message).toContain('AccessDeniedException');
    expect(error.remedy).toContain('secretsmanager:GetSecretValue');
  });

  it('recognises the placeholder the stack stores and says to run configure', async () => {
    stub.putSecret(SECRET, '{"configured":false}');
    const error = await secretError(provider().get());
    expect(error.message).toContain('still holds the placeholder the stack created');
    expect(error.remedy).toBe('Store the credentials with `npx mimecast-collector configure`.');
  });

  it('does not repeat a secret that is not JSON', async () => {
    stub.putSecret(SECRET, `appKey=${(V1.mimecast as { appKey: string }).appKey}`);
    const error = await secretError(provider().get());
    expect(error.message).toContain('is not JSON');
    expect(error.cause).toBeUndefined();
  });

  it('lists malformed fields without their values', async () => {
    stub.putSecret(
      SECRET,
      JSON.stringify({
        apiVersion: 1,
        appId: 'a-valid-app-id',
        appKey: 'k3y-value-123',
        secretKey: 'no base64 here!',
      }),
    );
    const error = await secretError(provider().get());
    expect(error.message).toMatch(
      /malformed: accessKey is missing \(required for API 1\.0\); secretKey is not valid base64/,
    );
    expect(error.message).not.toContain('no base64 here');
  });

  it.each([
    ['throttling', 'ThrottlingException'],
    ['internal-error', 'InternalServiceError'],
  ] as const)('marks %s as retryable', async (fault, name) => {
    stub.inject({ operation: 'GetSecretValue', fault });
    const error = await secretError(provider().get());
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(name);
    expect(error.remedy).toMatch(/next run tries again/);
  });

  it('gives up on a call that takes longer than its budget (retryable)', async () => {
    stub.delay({ operation: 'GetSecretValue', ms: 1000 });
    const started = Date.now();
    const error = await secretError(provider({ callTimeoutMs: 100 }).get());
    expect(Date.now() - started).toBeLessThan(900);
    expect(error.retryable).toBe(true);
  });
});

describe('caching', () => {
  it('reuses the credentials within the TTL and reads a rotated value after it', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const p = provider({ clock, ttlMs: 60_000 });
    stub.putSecret(SECRET, flat(V2));
    await expect(p.get()).resolves.toEqual(V2);
    stub.putSecret(SECRET, flat(ROTATED));
    clock.time += 59_999;
    await expect(p.get()).resolves.toEqual(V2);
    expect(reads()).toBe(1);
    clock.time += 1;
    await expect(p.get()).resolves.toEqual(ROTATED);
    expect(reads()).toBe(2);
  });

  it('defaults the TTL to five minutes', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const p = provider({ clock });
    await p.get();
    clock.time += 5 * 60_000 - 1;
    await p.get();
    expect(reads()).toBe(1);
    clock.time += 1;
    await p.get();
    expect(reads()).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    stub.putSecret(SECRET, wrappedDocument(V1));
    const p = provider();
    const results = await Promise.all(Array.from({ length: 8 }, () => p.get()));
    expect(new Set(results).size).toBe(1);
    expect(reads()).toBe(1);
    expect(stub.calls().filter((c) => c.operation === 'Decrypt')).toHaveLength(5);
  });

  it('reads again at once after invalidate(), so a rotated key works without waiting for the TTL', async () => {
    const p = provider({ clock: new FakeClock(1_700_000_000_000) });
    stub.putSecret(SECRET, flat(V2));
    await p.get();
    stub.putSecret(SECRET, flat(ROTATED));
    p.invalidate();
    await expect(p.get()).resolves.toEqual(ROTATED);
    expect(reads()).toBe(2);
  });

  it('does not let a read begun before invalidate() refill the cache', async () => {
    const p = provider({ clock: new FakeClock(1_700_000_000_000) });
    stub.putSecret(SECRET, flat(V2));
    stub.delay({ operation: 'GetSecretValue', ms: 300 });
    const early = p.get();
    await waitFor(() => reads() === 1); // the stub has read V2; its answer is held back
    p.invalidate();
    stub.putSecret(SECRET, flat(ROTATED));
    await expect(p.get()).resolves.toEqual(ROTATED);
    await expect(early).resolves.toEqual(V2);
    await expect(p.get()).resolves.toEqual(ROTATED);
    expect(reads()).toBe(2);
  });

  it('does not cache a failure: the next get() tries again', async () => {
    const p = provider();
    stub.inject({ operation: 'GetSecretValue', fault: 'access-denied', times: 1 });
    await secretError(p.get());
    await expect(p.get()).resolves.toEqual(V1);
  });

  it('reuses the previous credentials when a refresh fails transiently, and says so', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const warnings: unknown[] = [];
    const log: Log = {
      debug() {},
      info() {},
      error() {},
      warn: (message, attributes) => warnings.push({ message, attributes }),
      child: () => log,
    };
    const p = provider({ clock, ttlMs: 1000, log });
    await p.get();
    clock.time += 1000;
    stub.inject({ operation: 'GetSecretValue', fault: 'throttling', times: 1 });
    await expect(p.get()).resolves.toEqual(V1);
    expect(warnings).toEqual([
      {
        message: expect.stringContaining('Reusing the previous Mimecast credentials'),
        attributes: expect.objectContaining({ ageSeconds: 1 }),
      },
    ]);
    // Not refreshed by the failure: the next call reads again.
    await p.get();
    expect(reads()).toBe(3);
  });

  it('does not reuse old credentials after invalidate() or for a non-transient failure', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const p = provider({ clock, ttlMs: 1000 });
    await p.get();
    p.invalidate();
    stub.inject({ operation: 'GetSecretValue', fault: 'throttling', times: 1 });
    expect((await secretError(p.get())).retryable).toBe(true);

    await p.get();
    clock.time += 1000;
    stub.inject({ operation: 'GetSecretValue', fault: 'access-denied', times: 1 });
    expect((await secretError(p.get())).retryable).toBe(false);
  });
});

describe('configure: wrapSecretFields and writeSecret', () => {
  it('wraps every credential field so the provider reads them back', async () => {
    const document = await wrapSecretFields(V1, { kms, keyId: stub.keyAlias, instance: INSTANCE });
    expect(document.apiVersion).toBe(1);
    for (const field of ['appId', 'appKey', 'accessKey', 'secretKey', 'sinkToken']) {
      expect(document[field]).toMatch(/^kms:[A-Za-z0-9+/]+=*$/);
    }
    const written = await writeSecret(secretsManager, SECRET, document);
    expect(written.arn).toBe(stub.secretArn(SECRET));
    expect(leaks.scan(stub.secretValue(SECRET)!)).toEqual([]);
    expect(leaks.scan(JSON.stringify(stub.calls()))).toEqual([]);
    for (const call of stub.calls().filter((c) => c.operation === 'Encrypt')) {
      expect(call.params.EncryptionContext).toEqual({ collector: INSTANCE });
    }
    await expect(
      readCredentials({ secretId: SECRET, instance: INSTANCE, secretsManager, kms }),
    ).resolves.toEqual(V1);
  });

  it('wraps for one instance only: another instance cannot read the fields', async () => {
    const document = await wrapSecretFields(V2, { kms, keyId: stub.keyArn, instance: 'staging' });
    await writeSecret(secretsManager, SECRET, document);
    await secretError(readCredentials({ secretId: SECRET, instance: INSTANCE, secretsManager, kms }));
  });

  it('refuses to wrap malformed credentials, naming each field', async () => {
    const bad = {
      mimecast: { apiVersion: 1, appId: 'x', appKey: ' ', accessKey: 'y', secretKey: '%%%' },
    } as CollectorCredentials;
    try {
      await wrapSecretFields(bad, { kms, keyId: stub.keyId, instance: INSTANCE });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['appKey', 'secretKey']);
    }
    expect(stub.calls()).toEqual([]);
  });

  it('explains an unknown KMS key', async () => {
    const error = await secretError(wrapSecretFields(V2, { kms, keyId: 'alias/nope', instance: INSTANCE }));
    expect(error.message).toMatch(/KMS has no key alias\/nope/);
    expect(error.remedy).toMatch(/stack's credentials key/);
  });

  it('explains writing to a secret that does not exist, or without permission', async () => {
    const missing = await secretError(writeSecret(secretsManager, 'nope', { apiVersion: 2 }));
    expect(missing.remedy).toMatch(/Deploy the stack first/);
    stub.inject({ operation: 'PutSecretValue', fault: 'access-denied' });
    const denied = await secretError(writeSecret(secretsManager, SECRET, { apiVersion: 2 }));
    expect(denied.remedy).toContain('secretsmanager:PutSecretValue');
  });
});
