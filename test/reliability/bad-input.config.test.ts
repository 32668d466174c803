/**
 * Issue 7, bad input: configuration, before anything is called.
 *
 * - The function's environment (parseLambdaConfig) over random maps: only ConfigError comes out, and
 *   exactly the variables that are wrong are named, each once.
 * - The credentials secret over random documents and random SecretStrings: only SecretError.
 * - The handler with several bad variables, and `run` with several bad flags: every problem at once,
 *   and not one call to AWS, Mimecast or the receiver.
 * - The stack's parameters as the synthesized template states them: every value a parameter's
 *   AllowedPattern lets through is one the function accepts (CloudFormation must not accept a stack
 *   whose every tick then fails on its configuration), and bad samples are refused by both.
 *
 * test/config/config.test.ts checks one hand-made bad environment and each validator; this adds
 * random combinations, the zero-call guarantee end to end, and the template-to-function agreement.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import type { CliIO } from '../../bin/cli/io';
import { runCommand } from '../../bin/cli/run';
import { formatLagAlarmSeconds, parseLambdaConfig } from '../../lambda/config';
import { STREAM_IDS, streamsFor } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { ConfigError, SecretError } from '../../lambda/errors';
import { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from '../../lambda/mimecast/hosts';
import { validateCredentialsDocument } from '../../lambda/secrets/document';
import { readCredentials } from '../../lambda/secrets/provider';
import { startAwsStub } from '../aws-stub';
import { buildStack, type Cfn } from '../infra/helpers';

// ---------------------------------------------------------------------------------------------
// A loopback server that only counts: no request may reach it.

interface Counter {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function counter(): Promise<Counter> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The environment, good and bad values per variable (the oracle: the generator knows which is which).

type Var = keyof typeof ENV;

const ALL_THRESHOLDS = formatLagAlarmSeconds(Object.fromEntries(STREAM_IDS.map((s) => [s, 7200])));

const GOOD: Record<Exclude<Var, 'mimecastBaseUrl' | 'apiVersion'>, readonly string[]> = {
  instance: ['prod', 'eu-tenant-1', 'a'],
  // Valid on both API versions (the API 2.0-only streams are refused on 1.0: config.test.ts).
  streams: ['', 'siem', 'audit,dlp', streamsFor(1).join(',')],
  collectionStart: ['', '2026-01-01T00:00:00Z', '2024-02-29T23:59:59Z', '2025-06-01'],
  sinkUrl: [
    'https://hec.example.com:8088/services/collector/event',
    'http://127.0.0.1:9/in',
    'https://[::1]/x',
  ],
  sinkFormat: ['ndjson', 'splunk-hec', 'elastic-bulk', 'sumo', 'datadog'],
  // 'true' is good only with splunk-hec (config.test.ts).
  hecAck: ['', 'false', 'FALSE'],
  retentionDays: ['', '1', '7', '3650'],
  // Both are for SINK_FORMAT syslog, which the function refuses: only unset is good here.
  sinkCa: [''],
  syslogMaxMessageBytes: [''],
  azureAuthorityUrl: [
    '',
    'https://login.microsoftonline.com',
    'https://login.microsoftonline.us/',
    'http://127.0.0.1:9',
  ],
  secretArn: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:collector-AbCdEf', 'collector/prod'],
  checkpointTable: [
    'MimecastCollector-prod-Checkpoints',
    'arn:aws:dynamodb:eu-west-1:123456789012:table/ckpt',
  ],
  latenessMarginSeconds: ['', '0', '300', '86400'],
  lateDataMinutes: ['', '0', '30', '1440'],
  maxPagesPerStream: ['', '1', '1000'],
  batchMaxEvents: ['', '1', '50000'],
  batchMaxBytes: ['', '1024', '10485760'],
  jsonPageSize: ['', '1', '500'],
  siemBatchPageSize: ['', '1', '100'],
  siemEventTypes: ['', 'receipt', 'url protect,process', ' receipt , journal '],
  siemCiEventTypes: ['', 'entities', 'mailflow,urlclick'],
  awarenessSnapshotHours: ['', '1', '24', '168'],
  // Each must also be collected, so only "none" is good with every stream list above (config.test.ts).
  pushPrimaryStreams: ['', ' '],
  pushTrailSeconds: ['', '0', '900', '86400'],
  // Every stream has one, as the stack writes it; spaces around the pairs are harmless.
  lagAlarmSeconds: [ALL_THRESHOLDS, ALL_THRESHOLDS.split(',').join(' , ')],
};

const BAD: Record<Var, readonly (string | undefined)[]> = {
  instance: [undefined, '', 'Prod', 'prod_1', '-prod', 'x'.repeat(33), 'pr od'],
  apiVersion: [undefined, '', '3', 'v2', '2.0'],
  mimecastBaseUrl: [
    undefined,
    '',
    'http://eu-api.mimecast.com',
    'https://evil.example.com',
    'https://eu-api.mimecast.com/api',
    'https://user:pw@eu-api.mimecast.com',
    'https://api.mimecast.com',
    'https://eu-api.mimecast.com:8443',
    'not a url',
  ],
  streams: ['nope', 'siem,bogus', 'SIEM', 'siem;audit'],
  collectionStart: ['yesterday', '2024-02-30T00:00:00Z', '1999-12-31T23:59:59Z', '2024-06-01T00:00:00+02:00'],
  sinkUrl: [
    undefined,
    '',
    'http://siem.example.com/in',
    'ftp://siem.example.com',
    'https://u:p@siem.example.com',
    'https://siem.example.com/#x',
    'siem',
  ],
  sinkFormat: [undefined, '', 'csv', 'NDJSON'],
  hecAck: ['yes', '1', 'on'],
  retentionDays: ['0', '3651', 'week'],
  sinkCa: ['/nonexistent/mimecast-collector-ca.pem'],
  syslogMaxMessageBytes: ['0', '2047', '10485761', '200k'],
  azureAuthorityUrl: [
    'http://login.microsoftonline.com',
    'login.microsoftonline.com',
    'https://u:p@login.example.com',
    'https://login.microsoftonline.com/?x=1',
  ],
  secretArn: [undefined, '', 'arn:aws:s3:::bucket', 'has space'],
  checkpointTable: [undefined, '', 'ab', 'bad name!'],
  latenessMarginSeconds: ['-1', '86401', '1e3', 'five', '1.5'],
  lateDataMinutes: ['-1', '1441', '60m', '1.5'],
  maxPagesPerStream: ['0', '1001', 'x'],
  batchMaxEvents: ['0', '50001', ' 1 2 '],
  batchMaxBytes: ['1023', '10485761', '0x400'],
  jsonPageSize: ['0', '501', 'x'],
  siemBatchPageSize: ['0', '101', '1.5'],
  siemEventTypes: ['url-protect', 'receipt,bogus', 'RECEIPT'],
  siemCiEventTypes: ['entity', 'receipt'],
  awarenessSnapshotHours: ['0', '169', 'daily'],
  pushPrimaryStreams: ['nope', 'siem,bogus', 'awareness-performance', 'malware-grid'],
  pushTrailSeconds: ['-1', '86401', '15m'],
  lagAlarmSeconds: [
    undefined,
    '',
    'siem:7200',
    'siem=59',
    `${ALL_THRESHOLDS},siem=7200`,
    `bogus=7200,${ALL_THRESHOLDS}`,
  ],
};

const V1_URLS = MIMECAST_V1_HOSTS.map((h) => h.baseUrl);
const V2_URLS = MIMECAST_V2_HOSTS.map((h) => h.baseUrl);
const LOOPBACK_URLS = ['http://127.0.0.1:8080', 'http://localhost:1', 'https://[::1]:9443'];

/** An environment and the variables in it that are wrong. */
const environment = fc
  .record({
    bad: fc.subarray(Object.keys(ENV) as Var[]),
    version: fc.constantFrom('1', '2'),
    pick: fc.array(fc.nat(), {
      minLength: Object.keys(ENV).length,
      maxLength: Object.keys(ENV).length,
    }),
  })
  .map(({ bad, version, pick }) => {
    const env: Record<string, string | undefined> = {};
    const choose = <T>(list: readonly T[], i: number): T => list[pick[i] % list.length];
    (Object.keys(ENV) as Var[]).forEach((name, i) => {
      let value: string | undefined;
      if (bad.includes(name)) value = choose(BAD[name], i);
      else if (name === 'apiVersion') value = version;
      else if (name === 'mimecastBaseUrl') {
        // With a bad API version the host is checked alone; otherwise it must serve the version.
        const hosts = bad.includes('apiVersion')
          ? [...V1_URLS, ...V2_URLS]
          : version === '1'
            ? V1_URLS
            : V2_URLS;
        value = choose([...hosts, ...LOOPBACK_URLS], i);
      } else value = choose(GOOD[name], i);
      if (value !== undefined) env[ENV[name]] = value;
    });
    return { env, wrong: bad.map((name) => ENV[name]).sort() };
  });

describe('the function environment', () => {
  it('names exactly the wrong variables, each once, in one ConfigError (property)', () => {
    fc.assert(
      fc.property(environment, ({ env, wrong }) => {
        let error: unknown;
        try {
          const config = parseLambdaConfig(env);
          expect(wrong).toEqual([]);
          expect(config.sinkUrl).toMatch(/^(https:|http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/])/);
          return;
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const fields = (error as ConfigError).problems.map((p) => p.field);
        expect([...fields].sort()).toEqual(wrong);
        // One message, every variable in it, with the remedy.
        for (const field of wrong) expect((error as ConfigError).message).toContain(field);
        expect((error as ConfigError).remedy).toMatch(/deploy again/);
      }),
      { numRuns: 200 },
    );
  });

  it('throws nothing but ConfigError for any map of any strings', () => {
    const names = fc.constantFrom(...Object.values(ENV), 'PATH', 'AWS_REGION', '__proto__', 'constructor');
    fc.assert(
      fc.property(
        fc.dictionary(names, fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('')), {
          maxKeys: 20,
        }),
        (env) => {
          try {
            parseLambdaConfig(env);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The credentials secret

describe('the credentials secret', () => {
  it('validateCredentialsDocument is total: any value gives ok or named problems, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              apiVersion: fc.oneof(fc.constantFrom(1, 2, '1', '2'), fc.anything()),
              clientId: fc.anything(),
              clientSecret: fc.anything(),
              appId: fc.anything(),
              appKey: fc.anything(),
              accessKey: fc.anything(),
              secretKey: fc.anything(),
              sinkToken: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        (document) => {
          const check = validateCredentialsDocument(document);
          if (check.ok) return;
          expect(check.problems.length).toBeGreaterThan(0);
          for (const p of check.problems) {
            expect(typeof p.field).toBe('string');
            expect(typeof p.problem).toBe('string');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('readCredentials turns any SecretString into credentials or a SecretError, never anything else', async () => {
    const stub = await startAwsStub({ secrets: { 'bad-input/secret': '{}' } });
    const secretsManager = new SecretsManagerClient(stub.clientConfig());
    const kms = new KMSClient(stub.clientConfig());
    const wrapped = stub.encrypt('client-secret-value', { collector: 'bad-input' });
    const fieldValue = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        'kms:',
        'kms:!!!',
        `kms:${wrapped}`,
        `kms:${wrapped.slice(0, -4)}AAAA`,
        'YWJjZA==',
        ' ',
      ),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    );
    const secretText = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc
        .record(
          {
            apiVersion: fc.oneof(fc.constantFrom(1, 2, '2'), fc.jsonValue()),
            clientId: fieldValue,
            clientSecret: fieldValue,
            appId: fieldValue,
            appKey: fieldValue,
            accessKey: fieldValue,
            secretKey: fieldValue,
            sinkToken: fieldValue,
            configured: fc.oneof(fc.boolean(), fc.constant('false')),
          },
          { requiredKeys: [] },
        )
        .map((doc) => JSON.stringify(doc)),
    );
    try {
      await fc.assert(
        fc.asyncProperty(secretText, async (text) => {
          stub.putSecret('bad-input/secret', text === '' ? ' ' : text);
          try {
            const credentials = await readCredentials({
              secretId: 'bad-input/secret',
              instance: 'bad-input',
              secretsManager,
              kms,
              callTimeoutMs: 2000,
            });
            expect([1, 2]).toContain(credentials.mimecast.apiVersion);
          } catch (error) {
            expect(error).toBeInstanceOf(SecretError);
          }
        }),
        { numRuns: 120 },
      );
    } finally {
      secretsManager.destroy();
      kms.destroy();
      await stub.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Before any call: the handler and the command line

describe('before any call is made', () => {
  const saved = { ...process.env };
  let aws: Counter;
  let mimecast: Counter;
  let receiver: Counter;

  beforeAll(async () => {
    [aws, mimecast, receiver] = await Promise.all([counter(), counter(), counter()]);
  });
  afterAll(async () => {
    process.env = { ...saved };
    await Promise.all([aws.close(), mimecast.close(), receiver.close()]);
  });

  function coldStartHandler(env: Record<string, string>) {
    process.env = {
      ...saved,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBADINPUT',
      AWS_SECRET_ACCESS_KEY: 'bad-input-secret-access-key',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      AWS_ENDPOINT_URL_KMS: aws.url,
      AWS_ENDPOINT_URL_DYNAMODB: aws.url,
      ...env,
    };
    let handler: ((event: unknown, context: unknown) => Promise<unknown>) | undefined;
    jest.isolateModules(() => {
      handler = require('../../lambda/handler').handler;
    });
    return handler!;
  }

  const context = { awsRequestId: 'bad-input', getRemainingTimeInMillis: () => 60_000 };

  it('the handler reports every bad environment variable in one ConfigError, and calls nothing', async () => {
    // Every variable wrong except the two URLs, which point at counting servers: nothing may reach them.
    const env: Record<string, string> = {
      [ENV.instance]: 'Prod_1',
      [ENV.apiVersion]: '3',
      [ENV.mimecastBaseUrl]: mimecast.url,
      [ENV.streams]: 'siem,bogus',
      [ENV.collectionStart]: '2025-02-29T00:00:00Z',
      [ENV.sinkUrl]: receiver.url,
      [ENV.sinkFormat]: 'csv',
      [ENV.hecAck]: 'yes',
      [ENV.retentionDays]: 'a week',
      [ENV.sinkCa]: '/nonexistent/ca.pem',
      [ENV.syslogMaxMessageBytes]: '1',
      [ENV.secretArn]: 'arn:aws:s3:::not-a-secret',
      [ENV.checkpointTable]: 'x',
      [ENV.latenessMarginSeconds]: '-5',
      [ENV.lateDataMinutes]: 'an hour',
      [ENV.maxPagesPerStream]: '0',
      [ENV.batchMaxEvents]: 'many',
      [ENV.batchMaxBytes]: '1',
      [ENV.jsonPageSize]: '501',
      [ENV.siemBatchPageSize]: '0',
      [ENV.siemEventTypes]: 'url-protect',
      [ENV.siemCiEventTypes]: 'clicks',
      [ENV.awarenessSnapshotHours]: 'daily',
      [ENV.pushPrimaryStreams]: 'awareness-watchlist',
      [ENV.pushTrailSeconds]: 'a while',
    };
    const handler = coldStartHandler(env);
    for (let invocation = 0; invocation < 2; invocation += 1) {
      const failure = await handler({}, context).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((failure as Error).constructor.name).toBe('ConfigError');
      const fields = (failure as ConfigError).problems.map((p) => p.field).sort();
      expect(fields).toEqual(
        Object.values(ENV)
          .filter((n) => n !== ENV.mimecastBaseUrl && n !== ENV.sinkUrl)
          .sort(),
      );
    }
    expect(aws.hits).toEqual([]);
    expect(mimecast.hits).toEqual([]);
    expect(receiver.hits).toEqual([]);
  });

  it('`run` reports every bad flag and variable at once, exit 2, and calls nothing', async () => {
    const errLines: string[] = [];
    const outLines: string[] = [];
    const io: CliIO = {
      out: (line) => outLines.push(line),
      err: (line) => errLines.push(line),
      env: { MIMECAST_CLIENT_ID: 'bad-input-client', MIMECAST_CLIENT_SECRET: ' ' },
    };
    const code = await runCommand(
      [
        '--once',
        '--until-caught-up',
        '--mimecast-url',
        mimecast.url,
        '--sink-url',
        receiver.url,
        '--sink-format',
        'xml',
        '--streams',
        'audit,nope',
        '--start',
        'last week',
        '--instance',
        'Bad Instance',
        '--interval',
        '0',
        '--tick-seconds',
        'ten',
        '--batch-bytes',
        '12',
        '--late-data-minutes',
        'soon',
        '--table',
        'ckpt',
        '--state-dir',
        '/nonexistent/bad-input',
      ],
      io,
    );
    expect(code).toBe(2);
    const text = errLines.join('\n');
    for (const field of [
      'MIMECAST_CLIENT_SECRET',
      '--sink-format',
      '--streams',
      '--start',
      '--instance',
      '--interval',
      '--tick-seconds',
      '--batch-bytes',
      '--late-data-minutes',
      '--until-caught-up',
      '--table',
    ]) {
      expect(text).toContain(`${field}:`);
    }
    expect(text).toMatch(/^error: 1\d problems:/m);
    expect(text).not.toMatch(/\n\s+at /);
    expect(outLines).toEqual([]);
    expect(mimecast.hits).toEqual([]);
    expect(receiver.hits).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The stack's parameters, as the synthesized template states them

describe('CloudFormation parameters (synthesized template)', () => {
  const template: Cfn = buildStack('bad-input').template.toJSON();
  const parameters: Record<string, Cfn> = template.Parameters;
  /** What the stack sets as a literal: the lag thresholds of every stream. */
  const lagAlarmSeconds: string = Object.values<Cfn>(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function',
  ).Properties.Environment.Variables[ENV.lagAlarmSeconds];
  /** Whole-value match, as CloudFormation applies AllowedPattern. */
  const allowed = (name: string, value: string) =>
    new RegExp(`^(?:${parameters[name].AllowedPattern})$`).test(value);

  /** The function's environment built from one parameter value, everything else valid. */
  function functionAccepts(overrides: Record<string, string>): ConfigError | undefined {
    try {
      parseLambdaConfig({
        [ENV.instance]: 'bad-input',
        [ENV.apiVersion]: '2',
        [ENV.mimecastBaseUrl]: V2_URLS[0],
        [ENV.sinkUrl]: 'https://siem.example.com/in',
        [ENV.sinkFormat]: 'ndjson',
        [ENV.secretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf',
        [ENV.checkpointTable]: 'ckpt-table',
        [ENV.lagAlarmSeconds]: lagAlarmSeconds,
        ...overrides,
      });
      return undefined;
    } catch (error) {
      return error as ConfigError;
    }
  }

  const byPattern: Array<[string, string, fc.Arbitrary<string>]> = [
    ['CollectionStartTs', ENV.collectionStart, fc.constant('')],
    ['IngestionUrl', ENV.sinkUrl, fc.constant('https://a')],
    ['SiemEventTypes', ENV.siemEventTypes, fc.constant('')],
    ['SiemCiEventTypes', ENV.siemCiEventTypes, fc.constant('')],
    ['MimecastPageSize', ENV.jsonPageSize, fc.constant('500')],
    ['SiemBatchPageSize', ENV.siemBatchPageSize, fc.constant('100')],
  ];

  // A regular expression cannot tell valid punycode from invalid (`xn--0` is not IDNA), so host labels
  // starting `xn--` are left to the function, which refuses invalid ones by name (the test below).
  const punycodeLabel = /(\/\/|\.)xn--/i;
  // Likewise an S3 bucket name with `..`: S3 allows none, and the function refuses it by name.
  const doubleDotBucket = /^s3:\/\/[^/]*\.\./;
  /** An s3:// IngestionUrl comes with SinkFormat s3, as the function refuses it with any other format. */
  const withFormat = (variable: string, value: string): Record<string, string> =>
    variable === ENV.sinkUrl && value.startsWith('s3://')
      ? { [variable]: value, [ENV.sinkFormat]: 's3' }
      : { [variable]: value };

  it('refuses an invalid punycode host the pattern cannot rule out, naming the variable', () => {
    expect(new RegExp(parameters.IngestionUrl.AllowedPattern).test('https://xN--0.A')).toBe(true);
    expect(functionAccepts({ [ENV.sinkUrl]: 'https://xN--0.A' })?.problems).toEqual([
      expect.objectContaining({ field: ENV.sinkUrl }),
    ]);
  });

  it.each(byPattern)('every value %s allows is one the function accepts (property)', (name, variable) => {
    fc.assert(
      fc.property(
        fc
          .stringMatching(new RegExp(parameters[name].AllowedPattern))
          .filter((v) => !punycodeLabel.test(v) && !doubleDotBucket.test(v)),
        (value) => {
          expect({ value, error: functionAccepts(withFormat(variable, value))?.problems }).toEqual({
            value,
            error: undefined,
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  // The pattern cannot forbid a repeated id (Streams=siem,siem), so the function drops repeats.
  it('every value Streams allows is one the function accepts (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(parameters.Streams.AllowedPattern)), (value) => {
        expect(functionAccepts({ [ENV.streams]: value })).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('every time the function accepts in the CollectionStartTs form is allowed by the pattern (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const value = `${date.toISOString().slice(0, 19)}Z`;
          expect({ value, allowed: allowed('CollectionStartTs', value) }).toEqual({ value, allowed: true });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every value of an AllowedValues list is one the function accepts', () => {
    for (const version of parameters.MimecastApiVersion.AllowedValues as string[]) {
      const urls = version === '1' ? V1_URLS : V2_URLS;
      for (const url of urls)
        expect(functionAccepts({ [ENV.apiVersion]: version, [ENV.mimecastBaseUrl]: url })).toBeUndefined();
    }
    for (const format of parameters.SinkFormat.AllowedValues as string[]) {
      const url: Record<string, string> =
        format === 's3' ? { [ENV.sinkUrl]: 's3://acme-security-lake/mimecast/' } : {};
      expect(functionAccepts({ [ENV.sinkFormat]: format, ...url })).toBeUndefined();
    }
    for (const hours of parameters.AwarenessSnapshotHours.AllowedValues as string[]) {
      expect(functionAccepts({ [ENV.awarenessSnapshotHours]: hours })).toBeUndefined();
    }
  });

  // Each bad sample is refused by the pattern; those marked `both` are ones the function refuses too
  // (the others it tolerates, e.g. a bare date: the pattern may be stricter, never looser).
  it.each([
    [
      'CollectionStartTs',
      ENV.collectionStart,
      {
        both: [
          '2024-02-30T00:00:00Z',
          '2025-02-29T00:00:00Z',
          '2023-04-31T00:00:00Z',
          '1999-12-31T23:59:59Z',
          'now',
        ],
        patternOnly: ['2024-06-01', '2024-06-01T00:00:00+00:00', '2024-06-01T00:00:00.000Z'],
      },
    ],
    [
      'IngestionUrl',
      ENV.sinkUrl,
      {
        both: [
          'http://siem.example.com',
          'https://siem.example.com:65536/in',
          'https://siem.example.com:99999',
          'https://host.123',
          'https://n-.80',
          'https://300.1.1.1/x',
          'https://u:p@siem.example.com',
          'https://siem.example.com/#frag',
          's3://Lake/mimecast',
          's3://ab/',
          's3://-lake/',
          `s3://${'a'.repeat(64)}/`,
        ],
        patternOnly: [
          'https://siem.example.com/a b',
          'https://siem.example.com:08088/x',
          // The grant is the URL after s3:// plus `*`: without the slash it would cover lake2, lake-x, ...
          's3://lake',
          's3://lake//mimecast',
          's3://lake/mime*',
        ],
      },
    ],
    ['Streams', ENV.streams, { both: ['siem audit', 'Siem', 'siem,bogus'], patternOnly: ['', 'siem,'] }],
  ])('%s: bad samples are refused by the pattern', (name, variable, samples) => {
    for (const value of [...samples.both, ...samples.patternOnly]) {
      expect({ value, allowed: allowed(name, value) }).toEqual({ value, allowed: false });
    }
    for (const value of samples.both) {
      const refused = functionAccepts(withFormat(variable, value)) instanceof ConfigError;
      expect({ value, refused }).toEqual({ value, refused: true });
    }
  });

  it('good samples are allowed by the pattern and accepted by the function', () => {
    const good: Array<[string, string, string[]]> = [
      [
        'CollectionStartTs',
        ENV.collectionStart,
        ['', '2000-01-01T00:00:00Z', '2024-02-29T12:00:00Z', '2400-02-29T00:00:00Z', '2026-12-31T23:59:59Z'],
      ],
      [
        'IngestionUrl',
        ENV.sinkUrl,
        [
          'https://siem.example.com',
          'https://hec.example.com:65535/services/collector',
          'https://10.0.0.5/ingest',
          'https://es.example.com:9200/_bulk?pipeline=x',
          'https://splunk',
          's3://acme-security-lake/',
          's3://acme.lake/mimecast/v1',
        ],
      ],
      ['Streams', ENV.streams, ['siem', STREAM_IDS.join(','), 'audit,dlp']],
    ];
    for (const [name, variable, values] of good) {
      for (const value of values) {
        expect({ value, allowed: allowed(name, value) }).toEqual({ value, allowed: true });
        expect({ value, error: functionAccepts(withFormat(variable, value))?.problems }).toEqual({
          value,
          error: undefined,
        });
      }
    }
  });
});
