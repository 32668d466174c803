/**
 * `configure` end to end: the real SDK clients against the Secrets Manager + KMS loopback stub, the
 * credential check against the Mimecast simulator, and the stored secret read back the way the
 * function reads it.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { configureCommand } from '../../bin/cli/configure';
import { main } from '../../bin/cli/main';
import { SecretError } from '../../lambda/errors';
import { readCredentials } from '../../lambda/secrets/provider';
import { validatePushToken } from '../../lambda/settings';
import { REDACTED } from '../../lambda/telemetry/redact';
import { type AwsStub, startAwsStub } from '../aws-stub';
import { type RunningSimulator, startSimulator } from '../simulator';
import { type CapturedIO, captureIO } from './cli-io';

const PLACEHOLDER = '{"configured":false}';
const SINK_TOKEN = 'sink-token-0123456789abcdef';

let stub: AwsStub;
let sim: RunningSimulator;
let sm: SecretsManagerClient;
let kms: KMSClient;
let secretName: string;
let counter = 0;

beforeAll(async () => {
  [stub, sim] = await Promise.all([startAwsStub(), startSimulator({ seed: 7 })]);
  sm = new SecretsManagerClient(stub.clientConfig());
  kms = new KMSClient(stub.clientConfig());
});

afterAll(async () => {
  sm.destroy();
  kms.destroy();
  await Promise.all([stub.stop(), sim.stop()]);
});

beforeEach(() => {
  // A fresh placeholder secret per test, as the stack creates it.
  counter += 1;
  secretName = `collector/test-${counter}`;
  stub.putSecret(secretName, PLACEHOLDER);
  stub.resetCalls();
  sim.clearFaults();
});

function awsEnv(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.endpoint,
    AWS_ENDPOINT_URL_KMS: stub.endpoint,
    AWS_ACCESS_KEY_ID: stub.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stub.credentials.secretAccessKey,
  };
}

function v2Env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...awsEnv(),
    MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
    MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
    ...overrides,
  };
}

function args(instance = 'prod', extra: string[] = []): string[] {
  return [
    '--secret-id',
    stub.secretArn(secretName),
    '--kms-key-id',
    stub.keyArn,
    '--instance',
    instance,
    '--mimecast-url',
    sim.url,
    ...extra,
  ];
}

/** No value in the output, not even masked (a mask would mean a message tried to print one). */
function expectNoSecrets(io: CapturedIO, values: string[]): void {
  const text = io.text();
  for (const value of values) expect(text).not.toContain(value);
  expect(text).not.toContain(REDACTED);
  expect(text).not.toMatch(/\n\s+at /); // no stack trace
}

function read(instance: string) {
  return readCredentials({ secretsManager: sm, kms, secretId: stub.secretArn(secretName), instance });
}

test('stores API 2.0 credentials and the sink token from the environment, each field KMS-wrapped for the instance', async () => {
  const io = captureIO(v2Env({ SINK_TOKEN }));
  const code = await configureCommand(args(), io);
  expect(io.errLines).toEqual([]);
  expect(code).toBe(0);

  const stored = JSON.parse(stub.secretValue(secretName) ?? '{}') as Record<string, unknown>;
  expect(stored.apiVersion).toBe(2);
  for (const field of ['clientId', 'clientSecret', 'sinkToken']) {
    expect(String(stored[field])).toMatch(/^kms:[A-Za-z0-9+/]+=*$/);
  }
  const raw = stub.secretValue(secretName) ?? '';
  expect(raw).not.toContain(sim.credentials.v2.clientSecret);
  expect(raw).not.toContain(SINK_TOKEN);

  // Read back as the function does: decrypts under collector=prod, and only under it.
  await expect(read('prod')).resolves.toEqual({ mimecast: sim.credentials.v2, sinkToken: SINK_TOKEN });
  await expect(read('staging')).rejects.toThrow(SecretError);
  await expect(read('staging')).rejects.toThrow(/encryption context collector=staging/);
  const decrypts = stub.calls().filter((c) => c.operation === 'Decrypt');
  expect(decrypts.length).toBeGreaterThan(0);
  expect(decrypts.every((c) => c.params.EncryptionContext !== undefined)).toBe(true);

  // Exactly one Mimecast check before the write.
  expect(sim.requests().some((r) => r.path.includes('/api/audit/get-audit-events'))).toBe(true);
  expect(io.text()).toMatch(/Mimecast accepted the credentials\./);
  expect(io.text()).toMatch(/clientId\s+KMS-encrypted \(from the environment\)/);
  expect(io.text()).toMatch(/clientSecret\s+KMS-encrypted/);
  expect(io.text()).toMatch(/sinkToken\s+KMS-encrypted/);
  expect(io.text()).toContain('{"collector":"prod"}');
  expect(io.text()).toMatch(/npx mimecast-collector verify --secret-id \S+ --instance prod/);
  expectNoSecrets(io, [sim.credentials.v2.clientId, sim.credentials.v2.clientSecret, SINK_TOKEN]);
});

test('asks for API 1.0 values it does not find in the environment, without echoing them', async () => {
  const v1 = sim.credentials.v1;
  const io = captureIO(awsEnv(), {
    MIMECAST_APP_ID: v1.appId,
    MIMECAST_APP_KEY: v1.appKey,
    MIMECAST_ACCESS_KEY: v1.accessKey,
    MIMECAST_SECRET_KEY: v1.secretKey,
    SINK_TOKEN,
  });
  const code = await configureCommand(args('eu-1', ['--api-version', '1', '--check-stream', 'siem']), io);
  expect(io.errLines).toEqual([]);
  expect(code).toBe(0);
  expect(io.questions).toHaveLength(5);
  expect(io.questions.join('\n')).toMatch(/MIMECAST_SECRET_KEY/);
  await expect(read('eu-1')).resolves.toEqual({ mimecast: v1, sinkToken: SINK_TOKEN });
  expect(io.text()).toMatch(/secretKey\s+KMS-encrypted \(from the prompt\)/);
  expectNoSecrets(io, [v1.appId, v1.appKey, v1.accessKey, v1.secretKey, SINK_TOKEN]);
});

test('refuses credentials Mimecast rejects and stores nothing', async () => {
  const wrong = 'wrong-client-secret-abcdefghijklmnop';
  const io = captureIO(v2Env({ MIMECAST_CLIENT_SECRET: wrong }));
  const code = await configureCommand(args(), io);
  expect(code).toBe(1);
  expect(io.errLines.join('\n')).toMatch(/Mimecast refused these credentials; nothing was stored/);
  expect(io.errLines.join('\n')).toMatch(/what to do: .*client (id|secret)/i);
  expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
  expect(stub.calls().filter((c) => c.operation === 'PutSecretValue' || c.operation === 'Encrypt')).toEqual(
    [],
  );
  expectNoSecrets(io, [wrong, sim.credentials.v2.clientId]);
});

test('stores credentials that authenticate but may not read the checked stream, and says so', async () => {
  sim.inject({
    path: '/api/audit/get-audit-events',
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'status', status: 403 },
  });
  const io = captureIO(v2Env());
  const code = await configureCommand(args(), io);
  expect(code).toBe(0);
  expect(io.text()).toMatch(
    /Mimecast accepted the credentials; they may not read stream audit \(needs "Audit Events"\)/,
  );
  expect(io.text()).toMatch(/proves they authenticate/);
  await expect(read('prod')).resolves.toEqual({ mimecast: sim.credentials.v2 });
});

test('an unreachable Mimecast host stores nothing; --skip-check stores without asking', async () => {
  const unreachable = ['--mimecast-url', 'http://127.0.0.1:1'];
  const base = ['--secret-id', stub.secretArn(secretName), '--kms-key-id', stub.keyArn, '--instance', 'prod'];
  const io = captureIO(v2Env());
  expect(await configureCommand([...base, ...unreachable], io)).toBe(1);
  const err = io.errLines.join('\n');
  expect(err).toMatch(/Could not check the credentials with Mimecast; nothing was stored/);
  expect(err).toMatch(/error: Could not complete the call to Mimecast .*ECONNREFUSED/);
  expect(err).toMatch(
    /what to do: Check --mimecast-url \(http:\/\/127\.0\.0\.1:1\) .* --skip-check stores without the check/,
  );
  expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);

  const skipped = captureIO(v2Env());
  expect(await configureCommand([...base, ...unreachable, '--skip-check'], skipped)).toBe(0);
  expect(skipped.outLines[0]).toBe('Not checking the credentials with Mimecast (--skip-check).');
  await expect(read('prod')).resolves.toEqual({ mimecast: sim.credentials.v2 });
});

test('keeps the sink token already stored when configure runs again for new Mimecast keys', async () => {
  expect(await configureCommand(args(), captureIO(v2Env({ SINK_TOKEN })))).toBe(0);
  const io = captureIO(v2Env());
  expect(await configureCommand(args(), io)).toBe(0);
  expect(io.text()).toMatch(/sinkToken\s+KMS-encrypted \(kept from the current secret\)/);
  await expect(read('prod')).resolves.toEqual({ mimecast: sim.credentials.v2, sinkToken: SINK_TOKEN });

  const drop = captureIO(v2Env());
  expect(await configureCommand(args('prod', ['--no-sink-token']), drop)).toBe(0);
  expect(drop.text()).toMatch(/sinkToken\s+none \(--no-sink-token\)/);
  await expect(read('prod')).resolves.toEqual({ mimecast: sim.credentials.v2 });
  expectNoSecrets(io, [SINK_TOKEN]);
});

test('without values and without a terminal, names the variables to set and stores nothing', async () => {
  const io = captureIO(awsEnv());
  const code = await configureCommand(args(), io);
  expect(code).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(/MIMECAST_CLIENT_ID: is not set, and there is no terminal to ask on/);
  expect(err).toMatch(/MIMECAST_CLIENT_SECRET: is not set/);
  expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
});

test('malformed values are named by variable, never quoted', async () => {
  const badKey = 'not base64 at all!';
  const v1 = sim.credentials.v1;
  const io = captureIO({
    ...awsEnv(),
    MIMECAST_APP_ID: v1.appId,
    MIMECAST_APP_KEY: v1.appKey,
    MIMECAST_ACCESS_KEY: v1.accessKey,
    MIMECAST_SECRET_KEY: badKey,
  });
  const code = await configureCommand(args('prod', ['--api-version', '1']), io);
  expect(code).toBe(2);
  expect(io.errLines.join('\n')).toMatch(/MIMECAST_SECRET_KEY: is not valid base64/);
  expectNoSecrets(io, [badKey, v1.appKey]);
  expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
});

test('an unknown KMS key fails with what to do, after the check, and leaves the secret as it was', async () => {
  const io = captureIO(v2Env());
  const missingKey = `arn:aws:kms:${stub.region}:${stub.accountId}:key/00000000-0000-0000-0000-000000000000`;
  const code = await configureCommand(
    [
      '--secret-id',
      stub.secretArn(secretName),
      '--kms-key-id',
      missingKey,
      '--instance',
      'prod',
      '--mimecast-url',
      sim.url,
    ],
    io,
  );
  expect(code).toBe(1);
  expect(io.errLines.join('\n')).toMatch(/KMS has no key .* in this account and region/);
  expect(io.errLines.join('\n')).toMatch(/what to do: Pass the stack's credentials key ARN/);
  expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
});

test('bad flags: every problem at once, exit 2, no stack trace, no value repeated', async () => {
  const io = captureIO(v2Env());
  const code = await configureCommand(
    ['--instance', 'Prod!', '--api-version', '3', '--mimecast-url', 'http://example.com'],
    io,
  );
  expect(code).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(/--secret-id: is not set/);
  expect(err).toMatch(/--kms-key-id: is required/);
  expect(err).toMatch(/--instance: "Prod!" is not a safe id/);
  expect(err).toMatch(/--api-version: "3" is not supported/);
  expect(err).toMatch(/--region: is not set/);
  expect(err).not.toMatch(/\n\s+at /);

  // A value typed as a flag or a bare argument: refused, and never quoted back.
  const pasted = 'pasted-secret-value-xyz123456';
  const flagged = captureIO(v2Env());
  expect(await configureCommand([...args(), '--client-secret', pasted], flagged)).toBe(2);
  expect(flagged.errLines.join('\n')).toMatch(
    /Credentials are never passed as arguments: export MIMECAST_CLIENT_ID/,
  );
  const bare = captureIO(v2Env());
  expect(await configureCommand([...args(), pasted], bare)).toBe(2);
  expect(bare.errLines.join('\n')).toMatch(/an argument without a flag \(not repeated here/);
  expectNoSecrets(flagged, [pasted]);
  expectNoSecrets(bare, [pasted]);
  expect(stub.calls()).toEqual([]);
});

test('--help explains every flag with an example, through the dispatcher', async () => {
  const io = captureIO({});
  expect(await main(['configure', '--help'], io)).toBe(0);
  const help = io.outLines.join('\n');
  for (const flag of [
    '--secret-id',
    '--kms-key-id',
    '--instance',
    '--region',
    '--api-version',
    '--mimecast-url',
    '--check-stream',
    '--skip-check',
    '--no-sink-token',
  ]) {
    expect(help).toContain(flag);
  }
  expect(help).toMatch(/Example:\n\s+export MIMECAST_CLIENT_ID/);
});

test('without AWS credentials configure says no request reached AWS, and blames no policy', async () => {
  // The SDK's credential chain reads process.env and ~/.aws: point both at nothing for this test.
  const saved = { ...process.env };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    delete process.env[name];
  }
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  try {
    const env = v2Env();
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const io = captureIO(env);
    expect(await configureCommand(args(), io)).toBe(1);
    const err = io.errLines.join('\n');
    expect(err).toMatch(/No request reached AWS while .*: no AWS credentials were found on this machine/);
    expect(err).toMatch(/what to do: Give this shell AWS credentials/);
    expect(err).not.toMatch(/polic(y|ies)/);
    // No request of this command reached the stub (calls of earlier tests may still be arriving).
    const mine = stub.calls().filter((c) => {
      const params = JSON.stringify(c.params);
      return params.includes(secretName) || params.includes(stub.keyArn);
    });
    expect(mine).toEqual([]);
  } finally {
    process.env = saved;
  }
});

describe('the Event Push token (--push-token-secret-id, stack output PushTokenSecretArn)', () => {
  const PUSH_TOKEN = 'push-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  let tokenSecret: string;
  beforeEach(() => {
    tokenSecret = `collector/push-token-${counter}`;
    stub.putSecret(tokenSecret, PLACEHOLDER);
  });
  const pushArgs = (extra: string[] = []) => [
    '--push-token-secret-id',
    stub.secretArn(tokenSecret),
    ...extra,
  ];
  /** What the push function reads: the secret's text, checked as it checks it. */
  const storedToken = () => validatePushToken(stub.secretValue(tokenSecret));

  test('with the credentials: both stored, the token as it is in its own secret, never shown', async () => {
    const io = captureIO(v2Env({ PUSH_TOKEN }));
    expect(await configureCommand([...args(), ...pushArgs()], io)).toBe(0);
    expect(io.errLines).toEqual([]);
    expect(storedToken()).toEqual({ ok: true, value: PUSH_TOKEN });
    await expect(read('prod')).resolves.toMatchObject({ mimecast: sim.credentials.v2 });
    expect(stub.secretValue(secretName)).not.toContain(PUSH_TOKEN);
    expect(io.text()).toMatch(/Stored the Event Push token in \S+.* \(from the environment\)\./);
    expect(io.text()).toMatch(/Paste the same token into Mimecast's Event Push integration/);
    expectNoSecrets(io, [PUSH_TOKEN, sim.credentials.v2.clientSecret]);
  });

  test('--push-token-only: only the token, asked on the terminal without echo; no Mimecast call, no KMS call, the credentials untouched', async () => {
    const before = sim.requests().length;
    const io = captureIO(awsEnv(), { PUSH_TOKEN });
    expect(await configureCommand([...pushArgs(), '--push-token-only'], io)).toBe(0);
    expect(io.errLines).toEqual([]);
    expect(io.questions).toEqual([expect.stringContaining('Event Push token (PUSH_TOKEN')]);
    expect(storedToken()).toEqual({ ok: true, value: PUSH_TOKEN });
    expect(io.text()).toMatch(/\(from the prompt\)/);
    expect(sim.requests()).toHaveLength(before);
    expect(stub.calls().map((c) => c.operation)).toEqual(['PutSecretValue']);
    expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
    expectNoSecrets(io, [PUSH_TOKEN]);
  });

  test('a malformed token is named by its variable, never quoted, and nothing is stored (not the credentials either)', async () => {
    const short = 'too-short-token';
    const io = captureIO(v2Env({ PUSH_TOKEN: short }));
    expect(await configureCommand([...args(), ...pushArgs()], io)).toBe(2);
    expect(io.errLines.join('\n')).toMatch(/PUSH_TOKEN: must be 16 to 4096 characters without spaces/);
    expectNoSecrets(io, [short]);
    expect(stub.secretValue(tokenSecret)).toBe(PLACEHOLDER);
    expect(stub.secretValue(secretName)).toBe(PLACEHOLDER);
    expect(stub.calls().filter((c) => c.operation === 'PutSecretValue')).toEqual([]);
  });

  test('no token and no terminal: names PUSH_TOKEN and how to make one; stores nothing', async () => {
    const io = captureIO(awsEnv());
    expect(await configureCommand([...pushArgs(), '--push-token-only'], io)).toBe(2);
    const err = io.errLines.join('\n');
    expect(err).toMatch(/PUSH_TOKEN: is not set, and there is no terminal to ask on/);
    expect(err).toMatch(/openssl rand -hex 24/);
    expect(stub.secretValue(tokenSecret)).toBe(PLACEHOLDER);
  });

  test('bad flags: --push-token-only without the secret, with credential flags, or a token given as a flag', async () => {
    const alone = captureIO(awsEnv());
    expect(await configureCommand(['--push-token-only', '--region', stub.region], alone)).toBe(2);
    expect(alone.errLines.join('\n')).toMatch(/--push-token-only: needs --push-token-secret-id/);

    const mixed = captureIO({ ...awsEnv(), PUSH_TOKEN });
    expect(
      await configureCommand([...pushArgs(['--push-token-only']), '--kms-key-id', stub.keyArn], mixed),
    ).toBe(2);
    expect(mixed.errLines.join('\n')).toMatch(/--kms-key-id: is for the Mimecast credentials/);

    const notArn = captureIO({ ...awsEnv(), PUSH_TOKEN });
    expect(await configureCommand([...args(), '--push-token-secret-id', ''], notArn)).toBe(2);
    expect(notArn.errLines.join('\n')).toMatch(/--push-token-secret-id: /);

    const flagged = captureIO(awsEnv());
    expect(
      await configureCommand([...pushArgs(['--push-token-only']), '--push-token', PUSH_TOKEN], flagged),
    ).toBe(2);
    expectNoSecrets(flagged, [PUSH_TOKEN]);
    expect(stub.secretValue(tokenSecret)).toBe(PLACEHOLDER);
    expect(stub.calls()).toEqual([]);
  });

  test('--help names the push token flags and PUSH_TOKEN', async () => {
    const io = captureIO({});
    expect(await main(['configure', '--help'], io)).toBe(0);
    const help = io.outLines.join('\n');
    for (const text of ['--push-token-secret-id', '--push-token-only', 'PUSH_TOKEN', 'PushTokenSecretArn'])
      expect(help).toContain(text);
  });
});
