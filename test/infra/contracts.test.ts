/**
 * The stack and the function agree: whatever the stack's parameters allow, the function's own
 * configuration checks (lambda/config.ts) accept, and the names they share come from one place.
 */
import {
  type ApiVersion,
  INSTANCE_PATTERN,
  NUMERIC_SETTINGS,
  PUSHABLE_STREAMS,
  parseBoundedInteger,
  parseCollectionStart,
  parseEventTypes,
  parseLambdaConfig,
  parsePushPrimaryStreams,
  parseStreamList,
  SIEM_EVENT_TYPE_SETS,
  SINK_FORMATS,
  validateInstanceId,
  validateMimecastBaseUrl,
  validateSinkUrl,
} from '../../lambda/config';
import { STREAM_IDS, streamsFor } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { ConfigError } from '../../lambda/errors';
import { isPlaceholderSecret } from '../../lambda/secrets/document';
import { SETTING_CARRIERS, SETTING_SCHEMAS, type SettingName } from '../../lambda/settings';
import { CLI_ONLY_FORMATS } from '../../lambda/sinks/format';
import { SECRET_PLACEHOLDER } from '../../lib/constructs/credentials-store';
import {
  COLLECTION_START_PATTERN,
  INGESTION_URL_PATTERN,
  JSON_PAGE_SIZE_PATTERN,
  MIMECAST_V1_BASE_URLS,
  MIMECAST_V2_BASE_URLS,
  SIEM_BATCH_PAGE_SIZE_PATTERN,
  SIEM_CI_EVENT_TYPES_PATTERN,
  SIEM_EVENT_TYPES_PATTERN,
  STREAMS_PATTERN,
} from '../../lib/parameters';
import { PUSH_PRIMARY_STREAMS_PATTERN, PUSH_TRAIL_SECONDS_PATTERN } from '../../lib/push-parameters';
import { buildStack, type Cfn } from './helpers';

const { template } = buildStack('acme');
const json = template.toJSON() as Record<string, Cfn>;
const parameters = json.Parameters;

test('every host a rule allows for an API version passes the function check for that version', () => {
  const hosts: Array<[string, ApiVersion]> = [
    ...MIMECAST_V1_BASE_URLS.map((u): [string, ApiVersion] => [u, 1]),
    ...MIMECAST_V2_BASE_URLS.map((u): [string, ApiVersion] => [u, 2]),
  ];
  expect(hosts.map(([u]) => u).sort()).toEqual([...parameters.MimecastBaseUrl.AllowedValues].sort());
  for (const [url, version] of hosts) {
    expect({ url, check: validateMimecastBaseUrl(url, version) }).toEqual({
      url,
      check: { ok: true, value: url },
    });
  }
});

test('SinkFormat allows exactly the formats the function implements', () => {
  // file and syslog are the command line's (lambda/sinks/format.ts); s3 comes with its bucket and grant (lib/constructs/data-lake.ts).
  expect(parameters.SinkFormat.AllowedValues).toEqual(
    SINK_FORMATS.filter((f) => !CLI_ONLY_FORMATS.includes(f)),
  );
  expect(parameters.SinkFormat.AllowedValues).toContain('s3');
});

test('values matching the parameter patterns pass the function checks', () => {
  for (const value of ['', '2026-01-01T00:00:00Z', '2024-02-29T12:30:59Z']) {
    expect(new RegExp(COLLECTION_START_PATTERN).test(value)).toBe(true);
    expect(parseCollectionStart(value).ok).toBe(true);
  }
  for (const value of [STREAM_IDS.join(','), 'siem', 'audit,dlp,malware-grid']) {
    expect(new RegExp(STREAMS_PATTERN).test(value)).toBe(true);
    expect(parseStreamList(value).ok).toBe(true);
  }
  for (const value of [
    'https://hec.example.com:8088/services/collector/raw',
    'https://es.example.com/_bulk?x=1',
  ]) {
    expect(new RegExp(INGESTION_URL_PATTERN).test(value)).toBe(true);
    expect(validateSinkUrl(value).ok).toBe(true);
  }
  for (const value of ['s3://acme-security-lake/', 's3://acme.lake-1/mimecast', 's3://lake/a/b=c/d_e-f.g/']) {
    expect(new RegExp(INGESTION_URL_PATTERN).test(value)).toBe(true);
    expect(validateSinkUrl(value).ok).toBe(true);
  }
  for (const value of ['default', 'acme', 'acme-eu-2']) {
    expect(INSTANCE_PATTERN.test(value)).toBe(true);
    expect(validateInstanceId(value).ok).toBe(true);
  }
});

test('page sizes: the pattern allows exactly the whole numbers the function accepts', () => {
  for (const [pattern, bounds] of [
    [JSON_PAGE_SIZE_PATTERN, NUMERIC_SETTINGS.jsonPageSize],
    [SIEM_BATCH_PAGE_SIZE_PATTERN, NUMERIC_SETTINGS.siemBatchPageSize],
  ] as const) {
    for (let n = 0; n <= bounds.max + 2; n += 1) {
      const text = String(n);
      const allowed = new RegExp(pattern).test(text);
      const accepted = parseBoundedInteger(text, bounds).ok;
      expect({ text, allowed }).toEqual({ text, allowed: accepted });
    }
    for (const bad of ['', '01', '1.0', ' 5', '-1']) expect(new RegExp(pattern).test(bad)).toBe(false);
  }
});

test('PushPrimaryStreams: the pattern allows exactly the lists the function accepts on their own', () => {
  expect(parameters.PushPrimaryStreams).toMatchObject({
    Default: '',
    AllowedPattern: PUSH_PRIMARY_STREAMS_PATTERN,
  });
  const allowed = (text: string) => new RegExp(PUSH_PRIMARY_STREAMS_PATTERN).test(text);
  for (const value of ['', ...PUSHABLE_STREAMS, PUSHABLE_STREAMS.join(','), 'audit,siem']) {
    expect({ value, allowed: allowed(value) }).toEqual({ value, allowed: true });
    expect(parsePushPrimaryStreams(value).ok).toBe(true);
  }
  // Every stream the function refuses as push-primary, the pattern refuses too, and malformed lists.
  for (const stream of STREAM_IDS.filter((s) => !PUSHABLE_STREAMS.includes(s))) {
    expect(parsePushPrimaryStreams(stream).ok).toBe(false);
    expect({ stream, allowed: allowed(stream) }).toEqual({ stream, allowed: false });
  }
  expect(PUSHABLE_STREAMS).toEqual(expect.arrayContaining(['siem', 'siem-ci', 'audit']));
  for (const bad of ['audit,', ',audit', 'audit, siem', 'AUDIT', 'bogus', 'audit,awareness-watchlist'])
    expect({ bad, allowed: allowed(bad) }).toEqual({ bad, allowed: false });
});

test('PushTrailSeconds: the pattern allows exactly the whole numbers the function accepts', () => {
  const bounds = NUMERIC_SETTINGS.pushTrailSeconds;
  expect(parameters.PushTrailSeconds).toMatchObject({
    Default: String(bounds.default),
    AllowedPattern: PUSH_TRAIL_SECONDS_PATTERN,
  });
  const probes = new Set<number>();
  for (let n = 0; n <= 1_100; n += 1) probes.add(n);
  for (let n = 1_100; n <= bounds.max + 50_000; n += 997) probes.add(n);
  for (const n of [9_999, 10_000, 79_999, 80_000, 85_999, 86_000, 86_399, 86_400, 86_401, 99_999, 100_000])
    probes.add(n);
  for (const n of probes) {
    const text = String(n);
    const accepted = parseBoundedInteger(text, bounds).ok;
    expect({ text, allowed: new RegExp(PUSH_TRAIL_SECONDS_PATTERN).test(text) }).toEqual({
      text,
      allowed: accepted,
    });
  }
  for (const bad of ['', '01', '1.5', ' 5', '-1', '9e2'])
    expect(new RegExp(PUSH_TRAIL_SECONDS_PATTERN).test(bad)).toBe(false);
});

test('PushPrimaryStreams needs something that receives pushes (PushReceiver Enabled or a PushBucket): a rule refuses it at deploy time', () => {
  expect(json.Rules.PushPrimaryStreamsNeedPush).toEqual({
    RuleCondition: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushPrimaryStreams' }, ''] }] },
    Assertions: [
      {
        Assert: {
          'Fn::Or': [
            { 'Fn::Equals': [{ Ref: 'PushReceiver' }, 'Enabled'] },
            { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucket' }, 'none'] }] },
          ],
        },
        AssertDescription: expect.stringContaining('PushReceiver Enabled or a PushBucket'),
      },
    ],
  });
});

test('a push-primary stream the stack does not collect fails with a ConfigError naming PUSH_PRIMARY_STREAMS (no pattern can see Streams)', () => {
  const env = stackDefaultEnv();
  expect(env[ENV.pushPrimaryStreams]).toBe('');
  expect(parseLambdaConfig(env).pushPrimaryStreams).toEqual([]);
  expect(parseLambdaConfig({ ...env, [ENV.pushPrimaryStreams]: 'audit,siem' })).toMatchObject({
    pushPrimaryStreams: ['audit', 'siem'],
    pushTrailSeconds: 900,
  });
  const notCollected = { ...env, [ENV.streams]: 'siem', [ENV.pushPrimaryStreams]: 'audit' };
  expect(new RegExp(PUSH_PRIMARY_STREAMS_PATTERN).test('audit')).toBe(true);
  let error: unknown;
  try {
    parseLambdaConfig(notCollected);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    {
      field: ENV.pushPrimaryStreams,
      problem: expect.stringContaining('audit is not collected (COLLECTOR_STREAMS)'),
    },
  ]);
  expect((error as ConfigError).remedy).toMatch(/set by the stack from its parameters/);
});

test('SIEM event types: every type and list the pattern allows is one the function accepts, and no unknown type', () => {
  for (const [pattern, known] of [
    [SIEM_EVENT_TYPES_PATTERN, SIEM_EVENT_TYPE_SETS.siem],
    [SIEM_CI_EVENT_TYPES_PATTERN, SIEM_EVENT_TYPE_SETS['siem-ci']],
  ] as const) {
    for (const value of ['', ...known, known.join(','), `${known[0]},${known[known.length - 1]}`]) {
      expect(new RegExp(pattern).test(value)).toBe(true);
      expect(parseEventTypes(value, known)).toEqual({
        ok: true,
        value: value === '' ? [...known] : [...new Set(value.split(','))],
      });
    }
    for (const bad of ['bogus', `${known[0]},`, `${known[0]}, ${known[0]}`, known[0]!.toUpperCase()]) {
      expect(new RegExp(pattern).test(bad)).toBe(false);
    }
  }
});

/** The scheduled function's environment with every parameter at its default (IngestionUrl given). */
function stackDefaultEnv(): Record<string, string> {
  const fn = Object.values<Cfn>(json.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  const resolve = (value: Cfn): string => {
    if (typeof value === 'string') return value;
    const ref = value.Ref as string;
    if (parameters[ref]) return parameters[ref].Default ?? 'https://siem.example.com/ingest';
    if (json.Resources[ref].Type === 'AWS::SecretsManager::Secret') {
      return 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:CredentialsSecret-AbCdEf';
    }
    return 'MimecastCollector-acme-CheckpointsTable-XYZ';
  };
  return Object.fromEntries(
    Object.entries<Cfn>(fn.Properties.Environment.Variables).map(([k, v]) => [k, resolve(v)]),
  );
}

test('the function environment, with parameter defaults, is a valid function configuration', () => {
  const env = stackDefaultEnv();
  for (const name of [ENV.instance, ENV.secretArn, ENV.checkpointTable, ENV.sinkUrl])
    expect(env[name]).toBeDefined();
  const config = parseLambdaConfig(env);
  expect(config).toMatchObject({
    instance: 'acme',
    apiVersion: 2,
    sinkFormat: 'ndjson',
    // The Streams default: the streams both API versions serve (siem-ci and awareness-* are opt-in).
    streams: streamsFor(1),
    jsonPageSize: 500,
    siemBatchPageSize: 100,
    siemEventTypes: [...SIEM_EVENT_TYPE_SETS.siem],
    siemCiEventTypes: [...SIEM_EVENT_TYPE_SETS['siem-ci']],
    awarenessSnapshotHours: 24,
  });
  expect(config.collectionStart).toBeUndefined();
});

test('the secret placeholder is the one the function recognises as "not configured yet"', () => {
  expect(isPlaceholderSecret(JSON.parse(SECRET_PLACEHOLDER))).toBe(true);
});

test('each setting is set by the stack from a parameter whose default its schema accepts, or defaults in the schema', () => {
  const fn = Object.values<Cfn>(json.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  const variables = fn.Properties.Environment.Variables as Record<string, Cfn>;
  const checked: string[] = [];
  for (const [setting, { env }] of Object.entries(SETTING_CARRIERS) as [SettingName, { env: string }][]) {
    const schema = SETTING_SCHEMAS[setting];
    const value = variables[env];
    if (value === undefined) {
      // Not set by the stack: the function must be able to run on the schema's default.
      expect({ setting, ok: schema.safeParse(undefined).success }).toEqual({ setting, ok: true });
      continue;
    }
    const ref = typeof value === 'string' ? undefined : (value.Ref as string | undefined);
    const parameter = ref === undefined ? undefined : parameters[ref];
    const text: string | undefined =
      typeof value === 'string' ? value : (parameter?.Default ?? parameter?.AllowedValues?.[0]);
    // A required parameter without a default (IngestionUrl): the pattern test above covers its values.
    if (text === undefined) continue;
    const result = schema.safeParse(text);
    expect({ setting, env, text, ok: result.success }).toEqual({ setting, env, text, ok: true });
    checked.push(setting);
  }
  // The stack sets the settings a deployment chooses, each from a parameter or a fixed value.
  expect(checked).toEqual(expect.arrayContaining(['instance', 'apiVersion', 'streams', 'sinkFormat']));
});
