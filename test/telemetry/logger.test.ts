/** The structured logger, asserted on the lines it writes (what CloudWatch Logs receives). */
import { AuthenticationError, SecretError } from '../../lambda/errors';
import { createLogger } from '../../lambda/telemetry/logger';
import { SERVICE_NAME } from '../../lambda/telemetry/metric-names';
import { REDACTED } from '../../lambda/telemetry/redact';
import { type CapturedOutput, captureOutput } from '../support/capture-output';
import { createLeakScanner } from '../support/leak-scan';

const appKey = '7d9f1b3a-2c4e-4f6a-8b0c-9d1e2f3a4b5c';
const secretKey = Buffer.from('decoded hmac key bytes for the test!').toString('base64');
const sinkToken = 'hec+token/with=odd chars';
const leaks = createLeakScanner({ appKey, secretKey, sinkToken });

let output: CapturedOutput;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

describe('createLogger', () => {
  it('writes one JSON line per call with level, message, service and instance', () => {
    const log = createLogger({ instance: 'prod' });
    log.info('Tick started', { streams: 3 });
    log.warn('Slow sink', { ms: 2500 });
    log.error('Stream failed');
    const lines = output.json();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'Tick started',
      service: SERVICE_NAME,
      instance: 'prod',
      streams: 3,
    });
    expect(lines[0]!.timestamp).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
    expect(lines[1]).toMatchObject({ level: 'WARN', ms: 2500 });
    expect(lines[2]).toMatchObject({ level: 'ERROR', message: 'Stream failed' });
  });

  it('adds the stream to every line of a stream log, without changing the parent', () => {
    const log = createLogger({ instance: 'prod' });
    log.child({ stream: 'siem' }).info('Page fetched', { page: 1 });
    log.info('Tick done');
    const [child, parent] = output.json();
    expect(child).toMatchObject({ instance: 'prod', stream: 'siem', page: 1 });
    expect(parent).not.toHaveProperty('stream');
  });

  it('honours the level: debug is silent at INFO and written at DEBUG', () => {
    createLogger({ level: 'INFO' }).debug('hidden');
    createLogger({ level: 'DEBUG' }).debug('shown');
    expect(output.json().map((l) => l.message)).toEqual(['shown']);
  });

  it('logs collector errors as their log-safe description', () => {
    const log = createLogger({ instance: 'prod' });
    log.error('Stream failed', {
      error: new AuthenticationError('Mimecast refused the keys (401)', 'Check the keys.', {
        stream: 'siem',
      }),
    });
    expect(output.json()[0]!.error).toEqual({
      name: 'AuthenticationError',
      kind: 'authentication',
      message: 'Mimecast refused the keys (401)',
      remedy: 'Check the keys.',
      retryable: false,
      stream: 'siem',
    });
  });
});

describe('redaction', () => {
  it('replaces registered secrets in every encoding, wherever they appear in a line', () => {
    const log = createLogger({ instance: 'prod' });
    log.registerSecrets([appKey, secretKey, sinkToken, undefined]);
    const decodedHex = Buffer.from(secretKey, 'base64').toString('hex');
    log.info(`key ${appKey} in the message`, {
      nested: {
        deeper: [
          `hex ${Buffer.from(appKey).toString('hex')}`,
          `b64 ${Buffer.from(sinkToken).toString('base64')}`,
        ],
      },
      url: `https://x.example.com/?t=${encodeURIComponent(sinkToken)}`,
      hmac: decodedHex,
      basic: `Basic ${Buffer.from(`id1:${appKey}`).toString('base64')}`,
      basic2: `Basic ${Buffer.from(`id12:${sinkToken}`).toString('base64')}`,
      [appKey]: 'a secret as a key',
      error: new Error(`failed with ${sinkToken}`, { cause: new Error(`because ${secretKey}`) }),
    });
    const text = output.text();
    expect(leaks.describe(leaks.scan(text), 'the log')).toBe('no secret found in the log');
    expect(text.split(REDACTED).length - 1).toBeGreaterThanOrEqual(8);
    expect(output.json()[0]!.message).toBe(`key ${REDACTED} in the message`);
  });

  it('applies secrets registered later to stream logs made earlier (one shared redactor)', () => {
    const log = createLogger({ instance: 'prod' });
    const siem = log.child({ stream: 'siem' });
    log.registerSecrets([appKey]);
    siem.warn(`retrying with ${appKey}`);
    expect(output.json()[0]!.message).toBe(`retrying with ${REDACTED}`);
  });

  it('never writes Authorization headers or bearer tokens, registered or not', () => {
    const log = createLogger();
    log.info('request', {
      headers: {
        Authorization: 'MC accessKey123:c2lnbmF0dXJl',
        'x-mc-app-id': 'app-id',
        'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      },
      raw: ['authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'],
      dump: 'POST /services/collector\r\nAuthorization: Splunk 12345678-aaaa-bbbb\r\nHost: x',
      form: 'client_id=abc&client_secret=s3cr3t-value&grant_type=client_credentials',
    });
    const line = output.json()[0]!;
    expect(line.headers).toEqual({
      Authorization: REDACTED,
      'x-mc-app-id': 'app-id',
      'Proxy-Authorization': REDACTED,
    });
    expect(line.raw).toEqual(['authorization', `Bearer ${REDACTED}`]);
    expect(line.dump).toBe(`POST /services/collector\r\nAuthorization: ${REDACTED}\r\nHost: x`);
    expect(line.form).toBe(`client_id=abc&client_secret=${REDACTED}&grant_type=client_credentials`);
    for (const leaked of [
      'c2lnbmF0dXJl',
      'Zm9vOmJhcg',
      'eyJhbGciOiJIUzI1NiJ9',
      '12345678-aaaa',
      's3cr3t-value',
    ]) {
      expect(output.text()).not.toContain(leaked);
    }
  });

  it('keeps a SecretError readable: ids and remedies are not secrets', () => {
    const log = createLogger();
    log.registerSecrets([appKey]);
    const error = new SecretError(
      'Secrets Manager has no secret prod/creds in this account and region.',
      'Run configure.',
    );
    log.error('Cannot read credentials', { error });
    expect(output.json()[0]!.error).toMatchObject({ message: error.message, remedy: 'Run configure.' });
  });
});
