/**
 * The stack and the function agree: whatever the stack's parameters allow, the function's own
 * configuration checks (lambda/config.ts) accept, and the names they share come from one place.
 */
import {
  type ApiVersion,
  INSTANCE_PATTERN,
  parseCollectionStart,
  parseLambdaConfig,
  parseStreamList,
  SINK_FORMATS,
  validateInstanceId,
  validateMimecastBaseUrl,
  validateSinkUrl,
} from '../../lambda/config';
import { STREAM_IDS } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { isPlaceholderSecret } from '../../lambda/secrets/document';
import { SECRET_PLACEHOLDER } from '../../lib/constructs/credentials-store';
import {
  COLLECTION_START_PATTERN,
  INGESTION_URL_PATTERN,
  MIMECAST_V1_BASE_URLS,
  MIMECAST_V2_BASE_URLS,
  STREAMS_PATTERN,
} from '../../lib/parameters';
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
  expect(parameters.SinkFormat.AllowedValues).toEqual([...SINK_FORMATS]);
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
  for (const value of ['default', 'acme', 'acme-eu-2']) {
    expect(INSTANCE_PATTERN.test(value)).toBe(true);
    expect(validateInstanceId(value).ok).toBe(true);
  }
});

test('the function environment, with parameter defaults, is a valid function configuration', () => {
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
  const env = Object.fromEntries(
    Object.entries<Cfn>(fn.Properties.Environment.Variables).map(([k, v]) => [k, resolve(v)]),
  );
  for (const name of [ENV.instance, ENV.secretArn, ENV.checkpointTable, ENV.sinkUrl])
    expect(env[name]).toBeDefined();
  const config = parseLambdaConfig(env);
  expect(config).toMatchObject({
    instance: 'acme',
    apiVersion: 2,
    sinkFormat: 'ndjson',
    streams: [...STREAM_IDS],
  });
  expect(config.collectionStart).toBeUndefined();
});

test('the secret placeholder is the one the function recognises as "not configured yet"', () => {
  expect(isPlaceholderSecret(JSON.parse(SECRET_PLACEHOLDER))).toBe(true);
});
