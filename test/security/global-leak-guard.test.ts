/**
 * The suite-wide leak guard (global-leak-guard.ts, a jest setupFilesAfterEnv file) watches for the
 * right values and finds them: its copy of the simulator's credential derivation, the client tests'
 * credentials and the AWS stub's key match the real ones, its scanner finds every encoding, and it
 * is installed for this very file.
 */
import { startAwsStub } from '../aws-stub';
import { v1Credentials, v2Credentials } from '../mimecast/support/server';
import { startSimulator } from '../simulator';
import {
  AWS_STUB_SECRET_ACCESS_KEY,
  createScanner,
  GUARDED_SEEDS,
  guard,
  knownTestSecrets,
  simulatorCredentials,
} from './global-leak-guard';

test('its derivation of the simulator credentials is the simulator own, for the seeds the suite uses', async () => {
  for (const seed of [1, 11, 20261121]) {
    expect(GUARDED_SEEDS).toContain(seed);
    const sim = await startSimulator({ seed, events: { audit: 1 } });
    try {
      const { apiVersion: _v1, ...v1 } = sim.credentials.v1;
      const { apiVersion: _v2, ...v2 } = sim.credentials.v2;
      expect(simulatorCredentials(seed)).toEqual({ ...v1, ...v2 });
    } finally {
      await sim.stop();
    }
  }
});

test('it knows the client tests credentials and the AWS stub key', async () => {
  const known = Object.values(knownTestSecrets());
  for (const value of [
    v1Credentials.appKey,
    v1Credentials.accessKey,
    v1Credentials.secretKey,
    v2Credentials.clientSecret,
  ]) {
    expect(known).toContain(value);
  }
  const stub = await startAwsStub();
  try {
    expect(stub.credentials.secretAccessKey).toBe(AWS_STUB_SECRET_ACCESS_KEY);
  } finally {
    await stub.stop();
  }
});

test('its scanner finds a secret in any encoding, and nothing in clean text', () => {
  const secret = simulatorCredentials(7).clientSecret;
  const scan = createScanner({ s: secret });
  const forms = [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(`id:${secret}`).toString('base64'),
    Buffer.from(secret).toString('hex'),
    encodeURIComponent(secret),
    `Bearer ${secret}`,
  ];
  for (const form of forms)
    expect(scan(`{"level":"INFO","message":"x ${form} y"}`).length).toBeGreaterThan(0);
  expect(scan('{"level":"INFO","message":"stream audit forwarded 42 events"}')).toEqual([]);
  const key = simulatorCredentials(7).secretKey;
  const decoded = Buffer.from(key, 'base64').toString('hex');
  expect(createScanner({ k: key })(`hmac key ${decoded}`).map((f) => f.encoding)).toContain('decoded-hex');
});

test('it is installed for every test file, this one included', () => {
  expect(
    (process.stdout.write as unknown as Record<symbol, unknown>)[
      Symbol.for('mimecast-collector.global-leak-guard')
    ],
  ).toBe(true);
  expect(guard.findings.size).toBe(0);
});
