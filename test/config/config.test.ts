import fc from 'fast-check';
import {
  formatLagAlarmSeconds,
  KNOWN_MIMECAST_HOSTS,
  MIMECAST_V1_HOSTNAMES,
  MIMECAST_V2_HOSTNAMES,
  NUMERIC_SETTINGS,
  parseBoundedInteger,
  parseCollectionStart,
  parseCollectorSettings,
  parseLagAlarmSeconds,
  parseLambdaConfig,
  parseStreamList,
  validateInstanceId,
  validateMimecastBaseUrl,
  validateSinkUrl,
} from '../../lambda/config';
import { STREAM_IDS, streamsFor } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { ConfigError } from '../../lambda/errors';
import { SIEM_V2_EVENT_TYPES } from '../../lambda/mimecast/constants';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:MimecastCollectorSecret-AbC123';

function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    [ENV.instance]: 'prod',
    [ENV.apiVersion]: '2',
    [ENV.mimecastBaseUrl]: 'https://api.services.mimecast.com',
    [ENV.streams]: 'siem,audit',
    [ENV.collectionStart]: '2024-06-01T00:00:00Z',
    [ENV.sinkUrl]: 'https://splunk.example.com:8088/services/collector/event',
    [ENV.sinkFormat]: 'splunk-hec',
    [ENV.secretArn]: SECRET_ARN,
    [ENV.checkpointTable]: 'MimecastCollector-prod-Checkpoints',
    [ENV.lagAlarmSeconds]: 'siem=7200,audit=86400',
    ...overrides,
  };
}

/** Valid `run` settings as text; a test overrides what it is about. */
function validSettingsText(): Record<string, string> {
  return {
    instance: 'dev',
    apiVersion: '2',
    mimecastBaseUrl: 'https://api.services.mimecast.com',
    sinkFormat: 'ndjson',
  };
}

function problemsOf(fn: () => unknown): { field: string; problem: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseLambdaConfig', () => {
  it('turns a valid environment into a typed config, with defaults for the optional settings', () => {
    expect(parseLambdaConfig(validEnv())).toEqual({
      instance: 'prod',
      apiVersion: 2,
      mimecastBaseUrl: 'https://api.services.mimecast.com',
      streams: ['siem', 'audit'],
      collectionStart: new Date('2024-06-01T00:00:00.000Z'),
      sinkUrl: 'https://splunk.example.com:8088/services/collector/event',
      sinkFormat: 'splunk-hec',
      hecAck: false,
      retentionDays: 7,
      syslogMaxMessageBytes: 200_000,
      azureAuthorityUrl: 'https://login.microsoftonline.com',
      secretArn: SECRET_ARN,
      checkpointTable: 'MimecastCollector-prod-Checkpoints',
      lagAlarmSeconds: { siem: 7200, audit: 86_400 },
      latenessMarginSeconds: 300,
      lateDataMinutes: 60,
      maxPagesPerStream: 100,
      batchMaxEvents: 5000,
      batchMaxBytes: 4 * 1024 * 1024,
      jsonPageSize: 500,
      siemBatchPageSize: 100,
      siemEventTypes: [...SIEM_V2_EVENT_TYPES],
      siemCiEventTypes: ['entities', 'mailflow', 'urlclick'],
      awarenessSnapshotHours: 24,
      pushPrimaryStreams: [],
      pushTrailSeconds: 900,
    });
  });

  it('reads the page sizes, the SIEM event types and the snapshot interval', () => {
    const config = parseLambdaConfig(
      validEnv({
        [ENV.jsonPageSize]: '100',
        [ENV.siemBatchPageSize]: '25',
        [ENV.siemEventTypes]: ' receipt, url  protect ,receipt',
        [ENV.siemCiEventTypes]: 'urlclick',
        [ENV.awarenessSnapshotHours]: '168',
      }),
    );
    expect(config).toMatchObject({
      jsonPageSize: 100,
      siemBatchPageSize: 25,
      siemEventTypes: ['receipt', 'url protect'],
      siemCiEventTypes: ['urlclick'],
      awarenessSnapshotHours: 168,
    });
  });

  it('refuses page sizes beyond what Mimecast accepts, unknown event types and a snapshot interval out of range', () => {
    const problems = problemsOf(() =>
      parseLambdaConfig(
        validEnv({
          [ENV.jsonPageSize]: '1000',
          [ENV.siemBatchPageSize]: '101',
          [ENV.siemEventTypes]: 'receipt,url-protect',
          [ENV.siemCiEventTypes]: 'receipt',
          [ENV.awarenessSnapshotHours]: '0',
        }),
      ),
    );
    expect(problems.map((p) => p.field)).toEqual([
      ENV.jsonPageSize,
      ENV.siemBatchPageSize,
      ENV.siemEventTypes,
      ENV.siemCiEventTypes,
      ENV.awarenessSnapshotHours,
    ]);
    expect(problems[0]!.problem).toMatch(/1000 is out of range; expected a whole number from 1 to 500/);
    expect(problems[2]!.problem).toMatch(/unknown event type "url-protect"; expected .*url protect/);
    expect(problems[3]!.problem).toMatch(
      /unknown event type "receipt"; expected .*entities, mailflow, urlclick/,
    );
  });

  it('API 1.0: the API 2.0-only streams are left out of the default and refused by name when listed', () => {
    // Every stream has a threshold, as the stack writes them.
    const everyThreshold = {
      [ENV.lagAlarmSeconds]: formatLagAlarmSeconds(Object.fromEntries(STREAM_IDS.map((s) => [s, 3600]))),
    };
    const v1 = {
      ...everyThreshold,
      [ENV.apiVersion]: '1',
      [ENV.mimecastBaseUrl]: 'https://eu-api.mimecast.com',
    };
    expect(parseLambdaConfig(validEnv({ ...v1, [ENV.streams]: '' })).streams).toEqual(streamsFor(1));
    expect(streamsFor(1)).not.toContain('siem-ci');
    const problems = problemsOf(() =>
      parseLambdaConfig(validEnv({ ...v1, [ENV.streams]: 'siem,siem-ci,awareness-safescore' })),
    );
    expect(problems).toEqual([
      {
        field: ENV.streams,
        problem:
          '"siem-ci", "awareness-safescore" are collected over API 2.0 only, but API 1.0 is configured; remove them from the list, or use API 2.0 credentials and set MIMECAST_API_VERSION to 2',
      },
    ]);
    // API 2.0: every stream by default, siem-ci and the Awareness Training streams included.
    expect(parseLambdaConfig(validEnv({ ...everyThreshold, [ENV.streams]: '' })).streams).toEqual([
      ...STREAM_IDS,
    ]);
  });

  it('reads the optional numeric settings', () => {
    const config = parseLambdaConfig(
      validEnv({
        [ENV.latenessMarginSeconds]: '0',
        [ENV.lateDataMinutes]: '0',
        [ENV.maxPagesPerStream]: '7',
        [ENV.batchMaxEvents]: '250',
        [ENV.batchMaxBytes]: '65536',
      }),
    );
    expect(config).toMatchObject({
      latenessMarginSeconds: 0,
      lateDataMinutes: 0,
      maxPagesPerStream: 7,
      batchMaxEvents: 250,
      batchMaxBytes: 65536,
    });
  });

  it('defaults to every stream and no collection start when those are empty', () => {
    const config = parseLambdaConfig(
      validEnv({
        [ENV.streams]: '',
        [ENV.collectionStart]: undefined,
        [ENV.lagAlarmSeconds]: formatLagAlarmSeconds(Object.fromEntries(STREAM_IDS.map((s) => [s, 3600]))),
      }),
    );
    expect(config.streams).toEqual([...STREAM_IDS]);
    expect(config.collectionStart).toBeUndefined();
  });

  it('reports every problem at once, each naming its variable', () => {
    const problems = problemsOf(() =>
      parseLambdaConfig({
        [ENV.instance]: 'Prod_1',
        [ENV.apiVersion]: '3',
        [ENV.mimecastBaseUrl]: 'http://eu-api.mimecast.com',
        [ENV.streams]: 'siem,bogus,siem',
        [ENV.collectionStart]: 'yesterday',
        [ENV.sinkUrl]: 'ftp://example.com/in',
        [ENV.sinkFormat]: 'csv',
        [ENV.latenessMarginSeconds]: '-1',
        [ENV.lateDataMinutes]: '1441',
        [ENV.maxPagesPerStream]: '0',
        [ENV.batchMaxEvents]: '1e3',
        [ENV.batchMaxBytes]: '999999999',
      }),
    );
    expect(problems.map((p) => p.field).sort()).toEqual(
      [
        ENV.instance,
        ENV.apiVersion,
        ENV.mimecastBaseUrl,
        ENV.streams,
        ENV.collectionStart,
        ENV.sinkUrl,
        ENV.sinkFormat,
        ENV.secretArn,
        ENV.checkpointTable,
        ENV.lagAlarmSeconds,
        ENV.latenessMarginSeconds,
        ENV.lateDataMinutes,
        ENV.maxPagesPerStream,
        ENV.batchMaxEvents,
        ENV.batchMaxBytes,
      ].sort(),
    );
    const byField = Object.fromEntries(problems.map((p) => [p.field, p.problem]));
    expect(byField[ENV.apiVersion]).toMatch(/expected 1 .* or 2/);
    expect(byField[ENV.streams]).toMatch(/unknown stream "bogus"/);
    expect(byField[ENV.secretArn]).toMatch(/is not set/);
    expect(byField[ENV.batchMaxBytes]).toMatch(/out of range; expected a whole number from 1024 to 10485760/);
  });

  it("reads each stream's lag alarm threshold, and needs one for every configured stream", () => {
    expect(
      parseLambdaConfig(validEnv({ [ENV.lagAlarmSeconds]: ' audit = 60 , siem=31536000,dlp=900 ' }))
        .lagAlarmSeconds,
    ).toEqual({
      audit: 60,
      siem: 31_536_000,
      dlp: 900,
    });
    const problem = (text: string | undefined, streams = 'siem,audit') =>
      problemsOf(() => parseLambdaConfig(validEnv({ [ENV.lagAlarmSeconds]: text, [ENV.streams]: streams })));
    expect(problem('siem=7200')).toEqual([
      { field: ENV.lagAlarmSeconds, problem: expect.stringMatching(/^has no threshold for audit; expected/) },
    ]);
    expect(problem(undefined)[0]!.problem).toMatch(/^is not set; expected <stream>=<seconds> pairs/);
    expect(problem('siem=7200,audit:86400')[0]!.problem).toMatch(
      /^"audit:86400" is not a <stream>=<seconds> pair/,
    );
    expect(problem('siem=7200,audit=86400,siem=60')[0]!.problem).toMatch(/^siem is given twice/);
    expect(problem('siem=59,audit=86400')[0]!.problem).toMatch(
      /^siem=59 is out of range; expected 60 to 31536000/,
    );
    expect(problem('siem=7200,audit=86400,nope=60')[0]!.problem).toMatch(/^unknown stream "nope"/);
    // With a bad stream list only the streams are named: one mistake, one problem.
    expect(problem('siem=7200', 'siem,bogus').map((p) => p.field)).toEqual([ENV.streams]);
  });

  it('writes LAG_ALARM_SECONDS the way it reads it, streams in STREAM_IDS order', () => {
    const seconds = { audit: 86_400, siem: 7200 };
    const text = formatLagAlarmSeconds(seconds);
    expect(text).toBe('siem=7200,audit=86400');
    const parsed = parseLagAlarmSeconds(text, ['audit', 'siem']);
    expect(parsed).toEqual({ ok: true, value: seconds });
  });

  it('puts every problem in the error message too, with a remedy', () => {
    try {
      parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 'csv', [ENV.instance]: '' }));
      throw new Error('expected a ConfigError');
    } catch (error) {
      const e = error as ConfigError;
      expect(e.message).toContain(
        `${ENV.sinkFormat}: "csv" is not supported; expected one of ndjson, splunk-hec, elastic-bulk`,
      );
      expect(e.message).toContain(`${ENV.instance}: is not set`);
      expect(e.remedy).toMatch(/deploy again/);
      expect(e.retryable).toBe(false);
    }
  });

  it('checks the base URL against the API version', () => {
    const problems = problemsOf(() =>
      parseLambdaConfig(
        validEnv({ [ENV.apiVersion]: '1', [ENV.mimecastBaseUrl]: 'https://api.services.mimecast.com' }),
      ),
    );
    expect(problems).toEqual([
      {
        field: ENV.mimecastBaseUrl,
        problem: expect.stringMatching(/serves API 2\.0, but API 1\.0 is configured/),
      },
    ]);
  });

  it('accepts a secret name and a table ARN (local runs, cross-account tables)', () => {
    const config = parseLambdaConfig(
      validEnv({
        [ENV.secretArn]: 'mimecast/collector',
        [ENV.checkpointTable]: 'arn:aws:dynamodb:eu-west-1:123456789012:table/checkpoints',
      }),
    );
    expect(config.secretArn).toBe('mimecast/collector');
    expect(config.checkpointTable).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/checkpoints');
  });

  it('refuses an ARN of another service as the secret', () => {
    const problems = problemsOf(() =>
      parseLambdaConfig(validEnv({ [ENV.secretArn]: 'arn:aws:ssm:eu-west-1:123456789012:parameter/x' })),
    );
    expect(problems[0]).toMatchObject({
      field: ENV.secretArn,
      problem: expect.stringMatching(/neither a Secrets Manager secret ARN/),
    });
  });

  // issue 14
  it('HEC_ACK: true only with splunk-hec; off when unset or false', () => {
    expect(parseLambdaConfig(validEnv({ [ENV.hecAck]: 'true' })).hecAck).toBe(true);
    expect(parseLambdaConfig(validEnv({ [ENV.hecAck]: 'false' })).hecAck).toBe(false);
    expect(problemsOf(() => parseLambdaConfig(validEnv({ [ENV.hecAck]: 'yes' })))).toEqual([
      { field: ENV.hecAck, problem: '"yes" is not true or false' },
    ]);
    expect(
      problemsOf(() => parseLambdaConfig(validEnv({ [ENV.hecAck]: 'true', [ENV.sinkFormat]: 'ndjson' }))),
    ).toEqual([{ field: ENV.hecAck, problem: expect.stringContaining('splunk-hec') }]);
  });

  // issue 14
  it('sumo: the function refuses a URL that holds the source token, and never repeats the token', () => {
    const token = 'ZaVnC4dhaV2ZsumoTokenZk2F0b4Q8RdVrAd3kJZ9Qm==';
    const url = `https://endpoint4.collection.sumologic.com/receiver/v1/http/${token}`;
    const problems = problemsOf(() =>
      parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 'sumo', [ENV.sinkUrl]: url })),
    );
    expect(problems).toEqual([
      { field: ENV.sinkUrl, problem: expect.stringContaining('/receiver/v1/http/') },
    ]);
    expect(JSON.stringify(problems)).not.toContain(token);
    const prefix = 'https://endpoint4.collection.sumologic.com/receiver/v1/http/';
    expect(parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 'sumo', [ENV.sinkUrl]: prefix })).sinkUrl).toBe(
      prefix,
    );
  });

  it("file is the command line's; s3 takes s3://bucket/prefix, from the command line and the function", () => {
    expect(
      problemsOf(() =>
        parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 'file', [ENV.sinkUrl]: 'file:///var/log/mimecast' })),
      ),
    ).toEqual([{ field: ENV.sinkFormat, problem: expect.stringContaining('command line') }]);
    expect(
      parseCollectorSettings({ ...validSettingsText(), sinkFormat: 's3', sinkUrl: 's3://lake/mimecast/' })
        .sinkUrl,
    ).toBe('s3://lake/mimecast');
    expect(
      parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 's3', [ENV.sinkUrl]: 's3://lake/mimecast/' })),
    ).toMatchObject({ sinkFormat: 's3', sinkUrl: 's3://lake/mimecast' });
    expect(
      problemsOf(() =>
        parseLambdaConfig(validEnv({ [ENV.sinkFormat]: 's3', [ENV.sinkUrl]: 'https://lake' })),
      ),
    ).toEqual([{ field: ENV.sinkUrl, problem: expect.stringContaining('s3://<bucket>') }]);
    expect(
      problemsOf(() =>
        parseCollectorSettings({ ...validSettingsText(), sinkFormat: 's3', sinkUrl: 'https://lake' }),
      ),
    ).toEqual([{ field: ENV.sinkUrl, problem: expect.stringContaining('s3://<bucket>') }]);
  });

  it('keeps its numeric defaults equal to the engine defaults they replace', async () => {
    const { DEFAULT_LIMITS } = await import('../../lambda/core/limits');
    expect(NUMERIC_SETTINGS.maxPagesPerStream.default).toBe(DEFAULT_LIMITS.maxPagesPerStream);
    expect(NUMERIC_SETTINGS.batchMaxEvents.default).toBe(DEFAULT_LIMITS.batchMaxEvents);
    expect(NUMERIC_SETTINGS.batchMaxBytes.default).toBe(DEFAULT_LIMITS.batchMaxBytes);
  });
});

describe('parseCollectorSettings (command-line flags)', () => {
  it('names problems by the given names', () => {
    const names = {
      instance: '--instance',
      apiVersion: '--api-version',
      mimecastBaseUrl: '--base-url',
      streams: '--streams',
      collectionStart: '--start',
      sinkUrl: '--sink-url',
      sinkFormat: '--format',
      hecAck: '--hec-ack',
      retentionDays: '--retention-days',
      sinkCa: '--sink-ca-file',
      syslogMaxMessageBytes: '--syslog-max-message-bytes',
      latenessMarginSeconds: '--lateness',
      lateDataMinutes: '--late-data-minutes',
      maxPagesPerStream: '--max-pages',
      batchMaxEvents: '--batch-events',
      batchMaxBytes: '--batch-bytes',
      jsonPageSize: '--page-size',
      siemBatchPageSize: '--siem-batch-page-size',
      siemEventTypes: '--siem-types',
      siemCiEventTypes: '--siem-ci-types',
      awarenessSnapshotHours: '--awareness-snapshot-hours',
      pushPrimaryStreams: '--push-primary',
      pushTrailSeconds: '--push-trail',
      azureAuthorityUrl: '--azure-authority-url',
    };
    const problems = problemsOf(() =>
      parseCollectorSettings(
        {
          instance: 'dev',
          apiVersion: '1',
          mimecastBaseUrl: 'http://127.0.0.1:8443',
          sinkUrl: 'http://example.com',
          sinkFormat: 'ndjson',
          streams: 'dlp,nope',
        },
        names,
        'command-line flags',
      ),
    );
    expect(problems.map((p) => p.field)).toEqual(['--streams', '--sink-url']);
  });

  it('returns settings for valid flags', () => {
    const settings = parseCollectorSettings({
      instance: 'dev',
      apiVersion: '1',
      mimecastBaseUrl: 'http://localhost:8443/',
      sinkUrl: 'http://[::1]:9000/ingest?x=1',
      sinkFormat: 'ndjson',
    });
    expect(settings).toMatchObject({
      apiVersion: 1,
      mimecastBaseUrl: 'http://localhost:8443',
      sinkUrl: 'http://[::1]:9000/ingest?x=1',
      streams: streamsFor(1),
    });
  });
});

describe('validateMimecastBaseUrl', () => {
  it.each(KNOWN_MIMECAST_HOSTS.map((h) => [h.host, h.apiVersion] as const))(
    'accepts %s for API %i.0',
    (host, version) => {
      expect(validateMimecastBaseUrl(`https://${host}/`, version)).toEqual({
        ok: true,
        value: `https://${host}`,
      });
    },
  );

  it('lists the hosts of docs/mimecast-api.md A.5 and D.1', () => {
    expect(MIMECAST_V1_HOSTNAMES).toEqual(
      expect.arrayContaining([
        'eu-api.mimecast.com',
        'de-api.mimecast.com',
        'us-api.mimecast.com',
        'usb-api.mimecast.com',
        'ca-api.mimecast.com',
        'za-api.mimecast.com',
        'au-api.mimecast.com',
        'je-api.mimecast.com',
      ]),
    );
    expect(MIMECAST_V2_HOSTNAMES).toEqual([
      'api.services.mimecast.com',
      'uk-api.services.mimecast.com',
      'us-api.services.mimecast.com',
    ]);
  });

  it.each([
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['https://localhost:8443', 'https://localhost:8443'],
    ['http://[::1]:1234', 'http://[::1]:1234'],
  ])('accepts the loopback host %s, over http too', (url, origin) => {
    expect(validateMimecastBaseUrl(url, 1)).toEqual({ ok: true, value: origin });
  });

  it.each([
    ['http://eu-api.mimecast.com', /only https/],
    ['https://api.mimecast.com', /only answers discover-authentication/],
    ['https://evil.example.com', /not a Mimecast API host/],
    ['https://eu-api.mimecast.com.evil.example.com', /not a Mimecast API host/],
    ['https://eu-api.mimecast.com/api/audit', /host only/],
    ['https://eu-api.mimecast.com?x=1', /host only/],
    ['https://eu-api.mimecast.com:8443', /default port 443/],
    ['eu-api.mimecast.com', /not a valid absolute URL/],
    ['', /is not set/],
  ])('refuses %s', (url, problem) => {
    const check = validateMimecastBaseUrl(url);
    expect(check).toEqual({ ok: false, problem: expect.stringMatching(problem) });
  });

  it('never repeats a URL that carries credentials', () => {
    const check = validateMimecastBaseUrl('https://user:hunter2-password@eu-api.mimecast.com');
    expect(check.ok).toBe(false);
    expect(JSON.stringify(check)).not.toContain('hunter2');
    const sink = validateSinkUrl('https://user:hunter2-password@splunk.example.com');
    expect(sink).toEqual({
      ok: false,
      problem: expect.stringMatching(/must not contain a user name or password/),
    });
    expect(JSON.stringify(sink)).not.toContain('hunter2');
    expect(JSON.stringify(validateSinkUrl('https://a b:hunter2@x'))).not.toContain('hunter2');
  });
});

describe('validateSinkUrl', () => {
  it('accepts HTTPS anywhere with a path and query, and HTTP on loopback only', () => {
    expect(validateSinkUrl('https://es.example.com:9200/_bulk?pipeline=mimecast')).toEqual({
      ok: true,
      value: 'https://es.example.com:9200/_bulk?pipeline=mimecast',
    });
    expect(validateSinkUrl('http://127.0.0.1:8088/services/collector').ok).toBe(true);
    expect(validateSinkUrl('http://splunk.example.com:8088')).toEqual({
      ok: false,
      problem: expect.stringMatching(/only https/),
    });
    expect(validateSinkUrl('https://x.example.com/#frag')).toEqual({
      ok: false,
      problem: expect.stringMatching(/fragment/),
    });
  });
});

describe('parseStreamList', () => {
  it('keeps the given order and tolerates spaces and a trailing comma', () => {
    expect(parseStreamList(' dlp , siem,')).toEqual({ ok: true, value: ['dlp', 'siem'] });
  });

  it('collects a repeated stream once, in the order first given', () => {
    expect(parseStreamList('siem,audit,siem')).toEqual({ ok: true, value: ['siem', 'audit'] });
  });

  it('accepts any duplicate-free selection of known streams (property)', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...STREAM_IDS], { minLength: 1 }), (streams) => {
        const check = parseStreamList(streams.join(','));
        return check.ok && JSON.stringify(check.value) === JSON.stringify(streams);
      }),
    );
  });

  it('refuses any list with an unknown id (property)', () => {
    fc.assert(
      fc.property(
        fc.subarray([...STREAM_IDS]),
        fc
          .stringMatching(/^[a-z][a-z-]{0,15}$/)
          .filter((s) => !(STREAM_IDS as readonly string[]).includes(s)),
        (known, unknown) => !parseStreamList([...known, unknown].join(',')).ok,
      ),
    );
  });
});

describe('parseCollectionStart', () => {
  it.each([
    ['2024-06-01T00:00:00Z', '2024-06-01T00:00:00.000Z'],
    ['2024-06-01T12:30:15.5Z', '2024-06-01T12:30:15.500Z'],
    ['2024-06-01T12:30Z', '2024-06-01T12:30:00.000Z'],
    ['2024-06-01T12:30:15+00:00', '2024-06-01T12:30:15.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    const check = parseCollectionStart(text);
    expect(check.ok && check.value?.toISOString()).toBe(iso);
  });

  it.each([
    '2024-06-01T00:00:00',
    '2024-06-01T00:00:00+02:00',
    '2023-02-29',
    '2024-13-01',
    '2024-06-01T24:00:00Z',
    '1999-12-31T00:00:00Z',
    'now',
  ])('refuses %s', (text) => {
    expect(parseCollectionStart(text).ok).toBe(false);
  });

  it('round-trips every UTC time it prints (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const check = parseCollectionStart(date.toISOString());
          return check.ok && check.value?.getTime() === date.getTime();
        },
      ),
    );
  });
});

describe('validateInstanceId and parseBoundedInteger', () => {
  it.each(['prod', 'eu-tenant-1', 'a', 'x'.repeat(32)])('accepts the instance id %s', (id) => {
    expect(validateInstanceId(id)).toEqual({ ok: true, value: id });
  });

  it.each(['Prod', 'prod_1', '-prod', 'prod-', 'x'.repeat(33), 'a b', ''])(
    'refuses the instance id %j',
    (id) => {
      expect(validateInstanceId(id).ok).toBe(false);
    },
  );

  it('accepts exactly the whole numbers within bounds (property)', () => {
    const bounds = { default: 5, min: 1, max: 1000 };
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 2000 }), (n) => {
        const check = parseBoundedInteger(String(n), bounds);
        return check.ok === (n >= 1 && n <= 1000) && (!check.ok || check.value === n);
      }),
    );
    expect(parseBoundedInteger('  ', bounds)).toEqual({ ok: true, value: 5 });
    expect(parseBoundedInteger('12.5', bounds).ok).toBe(false);
  });
});

describe('push-primary streams (docs/PUSH-GAP-FILL.md)', () => {
  it('reads the push-primary streams and the trail, with none and 15 minutes by default', () => {
    expect(parseLambdaConfig(validEnv())).toMatchObject({ pushPrimaryStreams: [], pushTrailSeconds: 900 });
    expect(
      parseLambdaConfig(
        validEnv({ [ENV.pushPrimaryStreams]: ' siem , audit,siem', [ENV.pushTrailSeconds]: '1800' }),
      ),
    ).toMatchObject({ pushPrimaryStreams: ['siem', 'audit'], pushTrailSeconds: 1800 });
  });

  it('refuses a push-primary stream that is not collected, in the words of the carrier used', () => {
    expect(problemsOf(() => parseLambdaConfig(validEnv({ [ENV.pushPrimaryStreams]: 'dlp' })))).toEqual([
      {
        field: ENV.pushPrimaryStreams,
        problem: expect.stringMatching(/^dlp is not collected \(COLLECTOR_STREAMS\)/),
      },
    ]);
    const problems = problemsOf(() =>
      parseCollectorSettings(
        {
          ...validSettingsText(),
          sinkUrl: 'http://127.0.0.1:9/in',
          streams: 'audit',
          pushPrimaryStreams: 'siem',
        },
        {
          ...Object.fromEntries(Object.keys(validSettingsText()).map((k) => [k, k])),
          streams: '--streams',
          pushPrimaryStreams: '--push-primary',
        } as never,
      ),
    );
    expect(problems).toEqual([
      { field: '--push-primary', problem: expect.stringMatching(/^siem is not collected \(--streams\)/) },
    ]);
  });

  it('refuses streams Event Push never sends, and unknown ones', () => {
    expect(
      problemsOf(() => parseLambdaConfig(validEnv({ [ENV.pushPrimaryStreams]: 'siem,awareness-watchlist' }))),
    ).toEqual([
      { field: ENV.pushPrimaryStreams, problem: expect.stringContaining('never sent by Event Push') },
    ]);
    expect(problemsOf(() => parseLambdaConfig(validEnv({ [ENV.pushPrimaryStreams]: 'sim' })))).toEqual([
      { field: ENV.pushPrimaryStreams, problem: expect.stringContaining('(or empty for none)') },
    ]);
  });
});
