/** The stub, driven by the real SDK clients: if these pass, the SDK accepts it as Secrets Manager and KMS. */
import {
  DecryptCommand,
  EncryptCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSInternalException,
  NotFoundException,
} from '@aws-sdk/client-kms';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type AwsStub, startAwsStub } from '.';

let stub: AwsStub;
let sm: SecretsManagerClient;
let kms: KMSClient;

beforeEach(async () => {
  stub = await startAwsStub({ secrets: { 'collector/prod': '{"apiVersion":2}' } });
  sm = new SecretsManagerClient(stub.clientConfig());
  kms = new KMSClient(stub.clientConfig());
});

afterEach(async () => {
  sm.destroy();
  kms.destroy();
  await stub.stop();
});

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('Secrets Manager', () => {
  it('answers GetSecretValue by name, full ARN and partial ARN', async () => {
    const arn = stub.secretArn('collector/prod');
    expect(arn).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:collector\/prod-[A-Za-z0-9]{6}$/,
    );
    for (const id of ['collector/prod', arn, arn.slice(0, -7)]) {
      const answer = await sm.send(new GetSecretValueCommand({ SecretId: id }));
      expect(answer).toMatchObject({ ARN: arn, Name: 'collector/prod', SecretString: '{"apiVersion":2}' });
      expect(answer.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('raises the modelled ResourceNotFoundException for an unknown secret', async () => {
    const error = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it('PutSecretValue adds an AWSCURRENT version and keeps the old one as AWSPREVIOUS', async () => {
    const before = await sm.send(new GetSecretValueCommand({ SecretId: 'collector/prod' }));
    const put = await sm.send(
      new PutSecretValueCommand({ SecretId: 'collector/prod', SecretString: '{"v":2}' }),
    );
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    const now = await sm.send(new GetSecretValueCommand({ SecretId: 'collector/prod' }));
    expect(now.SecretString).toBe('{"v":2}');
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: 'collector/prod', VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.VersionId).toBe(before.VersionId);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'collector/prod' }));
    expect(described.VersionIdsToStages).toEqual({
      [before.VersionId!]: ['AWSPREVIOUS'],
      [put.VersionId!]: ['AWSCURRENT'],
    });
    expect(described.LastChangedDate).toBeInstanceOf(Date);
    expect(stub.secretValue('collector/prod')).toBe('{"v":2}');
  });

  it('refuses PutSecretValue on a secret that does not exist (the stack creates it)', async () => {
    const error = await rejection(
      sm.send(new PutSecretValueCommand({ SecretId: 'missing', SecretString: 'x' })),
    );
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('records calls without the secret text', async () => {
    await sm.send(
      new PutSecretValueCommand({ SecretId: 'collector/prod', SecretString: 'very-secret-value' }),
    );
    const [call] = stub.calls();
    expect(call).toMatchObject({
      target: 'secretsmanager.PutSecretValue',
      service: 'secretsmanager',
      operation: 'PutSecretValue',
      accessKeyId: stub.credentials.accessKeyId,
      status: 200,
    });
    expect(call!.params.SecretId).toBe('collector/prod');
    expect(JSON.stringify(stub.calls())).not.toContain('very-secret-value');
  });
});

describe('KMS', () => {
  const context = { collector: 'prod' };

  it('round-trips Encrypt and Decrypt under the same encryption context', async () => {
    const encrypted = await kms.send(
      new EncryptCommand({
        KeyId: stub.keyAlias,
        Plaintext: Buffer.from('app-key-123'),
        EncryptionContext: context,
      }),
    );
    expect(encrypted.KeyId).toBe(stub.keyArn);
    const decrypted = await kms.send(
      new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext!).toString()).toBe('app-key-123');
    expect(decrypted.KeyId).toBe(stub.keyArn);
    expect(decrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
  });

  it('accepts the key by id, ARN, alias and alias ARN', async () => {
    const aliasArn = `arn:aws:kms:${stub.region}:${stub.accountId}:${stub.keyAlias}`;
    for (const KeyId of [stub.keyId, stub.keyArn, stub.keyAlias, aliasArn]) {
      const answer = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
      expect(answer.KeyId).toBe(stub.keyArn);
    }
  });

  it('produces real ciphertexts: a different IV each time, the plaintext nowhere in them', async () => {
    const a = stub.encrypt('same plaintext', context);
    const b = stub.encrypt('same plaintext', context);
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain('same plaintext');
  });

  it.each([
    ['a different encryption context', { collector: 'other' }],
    ['no encryption context', undefined],
    ['an extra context entry', { collector: 'prod', extra: '1' }],
  ])('refuses %s with InvalidCiphertextException', async (_label, wrongContext) => {
    const blob = Buffer.from(stub.encrypt('secret', context), 'base64');
    const error = await rejection(
      kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: wrongContext })),
    );
    expect(error).toBeInstanceOf(InvalidCiphertextException);
  });

  it('refuses a tampered ciphertext, whichever byte is flipped', async () => {
    const blob = Buffer.from(stub.encrypt('secret', context), 'base64');
    for (const at of [0, 5, 40, 60, blob.length - 1]) {
      const tampered = Buffer.from(blob);
      tampered[at]! ^= 0x01;
      const error = await rejection(
        kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
      );
      expect(error).toBeInstanceOf(InvalidCiphertextException);
    }
  });

  it('refuses a ciphertext of another key when KeyId names this one (IncorrectKeyException)', async () => {
    const other = stub.addKey();
    const blob = Buffer.from(stub.encrypt('secret', context, other.keyId), 'base64');
    const error = await rejection(
      kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: stub.keyArn })),
    );
    expect(error).toBeInstanceOf(IncorrectKeyException);
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }));
    expect(ok.KeyId).toBe(other.keyArn);
  });

  it('does not decrypt ciphertexts from another stub (keys are per stub, like per account)', async () => {
    const elsewhere = await startAwsStub();
    try {
      const blob = Buffer.from(elsewhere.encrypt('secret', context), 'base64');
      const error = await rejection(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })),
      );
      expect(error).toBeInstanceOf(InvalidCiphertextException);
    } finally {
      await elsewhere.stop();
    }
  });

  it('raises NotFoundException for an unknown key', async () => {
    const error = await rejection(
      kms.send(new EncryptCommand({ KeyId: 'alias/none', Plaintext: Buffer.from('x') })),
    );
    expect(error).toBeInstanceOf(NotFoundException);
  });

  it('records Decrypt calls with the ciphertext but Encrypt calls without the plaintext', async () => {
    await kms.send(
      new EncryptCommand({
        KeyId: stub.keyId,
        Plaintext: Buffer.from('plain-words'),
        EncryptionContext: context,
      }),
    );
    const [call] = stub.calls();
    expect(call!.params).toEqual({ KeyId: stub.keyId, EncryptionContext: context });
  });
});

describe('faults', () => {
  it('injects access denied as the AWS AccessDeniedException, for as many calls as asked', async () => {
    stub.inject({ operation: 'GetSecretValue', fault: 'access-denied', times: 2 });
    for (let i = 0; i < 2; i += 1) {
      const error = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'collector/prod' })));
      expect(error.name).toBe('AccessDeniedException');
      expect(error.message).toContain('is not authorized to perform: secretsmanager:GetSecretValue');
    }
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'collector/prod' }))).resolves.toBeDefined();
    expect(stub.calls().map((c) => c.errorType)).toEqual([
      'AccessDeniedException',
      'AccessDeniedException',
      undefined,
    ]);
  });

  it('injects 500s as the modelled server errors of each service', async () => {
    stub.inject({ operation: 'GetSecretValue', fault: 'internal-error' });
    stub.inject({ operation: 'Decrypt', fault: 'internal-error' });
    const smError = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'collector/prod' })));
    expect(smError).toBeInstanceOf(InternalServiceError);
    expect(smError.$metadata?.httpStatusCode).toBe(500);
    const kmsError = await rejection(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from('x') })));
    expect(kmsError).toBeInstanceOf(KMSInternalException);
  });

  it('lets the SDK retry through a single throttle (its own retry strategy)', async () => {
    const retrying = new SecretsManagerClient(stub.clientConfig({ maxAttempts: 3 }));
    try {
      stub.inject({ operation: 'GetSecretValue', fault: 'throttling', times: 1 });
      const answer = await retrying.send(new GetSecretValueCommand({ SecretId: 'collector/prod' }));
      expect(answer.$metadata.attempts).toBe(2);
      expect(stub.calls().map((c) => c.errorType)).toEqual(['ThrottlingException', undefined]);
    } finally {
      retrying.destroy();
    }
  });

  it('injects a custom error shape, and clearFaults() ends every fault', async () => {
    stub.inject({
      operation: 'Encrypt',
      fault: { status: 400, type: 'KMSInvalidStateException', message: 'pending deletion' },
    });
    const error = await rejection(
      kms.send(new EncryptCommand({ KeyId: stub.keyId, Plaintext: Buffer.from('x') })),
    );
    expect(error.name).toBe('KMSInvalidStateException');
    stub.clearFaults();
    await expect(
      kms.send(new EncryptCommand({ KeyId: stub.keyId, Plaintext: Buffer.from('x') })),
    ).resolves.toBeDefined();
  });
});

describe('protocol checks', () => {
  const post = (headers: Record<string, string>, body = '{}') =>
    fetch(stub.endpoint, { method: 'POST', headers, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { __type?: string; message?: string },
    }));

  it('refuses unsigned requests and unknown access keys like AWS', async () => {
    const unsigned = await post({
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    });
    expect(unsigned).toEqual({
      status: 400,
      body: expect.objectContaining({ __type: 'MissingAuthenticationTokenException' }),
    });

    const stranger = new SecretsManagerClient(
      stub.clientConfig({ credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: 'x' } }),
    );
    try {
      const error = await rejection(stranger.send(new GetSecretValueCommand({ SecretId: 'collector/prod' })));
      expect(error.name).toBe('UnrecognizedClientException');
    } finally {
      stranger.destroy();
    }
  });

  it('refuses a wrong content type and unknown targets', async () => {
    expect(
      (await post({ 'content-type': 'application/json', 'x-amz-target': 'TrentService.Decrypt' })).body
        .__type,
    ).toBe('SerializationException');
    expect(
      (
        await post({
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.GenerateDataKey',
        })
      ).body.__type,
    ).toBe('UnknownOperationException');
  });
});
