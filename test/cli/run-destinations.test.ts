/**
 * `mimecast-collector run --until-caught-up --sink-format <each> --sink-url <loopback>` for issue 14's
 * HTTP destinations: everything lands at the receiver, a second run adds nothing, and the terminal never
 * shows the destination's credential (the Sumo URL token included).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runCommand } from '../../bin/cli/run';
import {
  type Receiver,
  type ReceiverOptions,
  startEntraTokenEndpoint,
  startReceiver,
  startS3Server,
} from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { createLeakScanner } from '../support/leak-scan';
import { captureIO } from './cli-io';

let dir: string;
let sim: RunningSimulator;
let receiver: Receiver | undefined;

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, events: { audit: 12, 'ttp-url': 7 } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mimecast-run-destinations-'));
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function runTwice(
  options: ReceiverOptions,
  flags: string[],
  sinkUrl: (r: Receiver) => string,
  env: Record<string, string>,
) {
  receiver = await startReceiver(options);
  const r = receiver;
  const run = async () => {
    const io = captureIO({
      MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
      MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
      ...env,
    });
    const code = await runCommand(
      [
        '--until-caught-up',
        '--streams',
        'audit,ttp-url',
        '--start',
        new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        '--mimecast-url',
        sim.url,
        '--sink-url',
        sinkUrl(r),
        '--state-dir',
        path.join(dir, 'state'),
        ...flags,
      ],
      io,
    );
    return { code, io };
  };
  const first = await run();
  expect({ code: first.code, err: first.io.errLines }).toEqual({ code: 0, err: [] });
  const delivered = r.ids().length;
  expect(delivered).toBeGreaterThan(0);
  expect(new Set(r.ids()).size).toBe(delivered);
  const second = await run();
  expect(second.code).toBe(0);
  expect(r.ids().length).toBe(delivered);
  return [first.io.text(), second.io.text()].join('\n');
}

test('splunk-hec --hec-ack', async () => {
  const token = 'hec-cli-5a1e-4b0b-token';
  const text = await runTwice(
    { kind: 'splunk-hec', token, ack: { pollsBeforeAcked: 1 } },
    ['--sink-format', 'splunk-hec', '--hec-ack'],
    (r) => r.url,
    { SINK_TOKEN: token },
  );
  expect(receiver!.requests().some((q) => q.path === '/services/collector/ack')).toBe(true);
  expect(createLeakScanner({ token }).scan(text)).toEqual([]);
});

test('sumo: the whole source URL on the command line, shown redacted', async () => {
  const token = 'ZaVnC4dhaV2ZcliSumoToken9QmqH1Ds5k0wXyZ==';
  const text = await runTwice({ kind: 'sumo', token }, ['--sink-format', 'sumo'], (r) => r.url, {});
  expect(text).toContain('/receiver/v1/http/[redacted]');
  expect(createLeakScanner({ token }).scan(text)).toEqual([]);
});

test('datadog', async () => {
  const key = 'dd0123456789abcdef0123456789cli0';
  const text = await runTwice({ kind: 'datadog', token: key }, ['--sink-format', 'datadog'], (r) => r.url, {
    SINK_TOKEN: key,
  });
  expect(createLeakScanner({ key }).scan(text)).toEqual([]);
});

test('sentinel: Entra app from AZURE_*, the authority on loopback; the secret and tokens never shown', async () => {
  const entra = await startEntraTokenEndpoint();
  try {
    const text = await runTwice(
      { kind: 'sentinel', sentinel: { entra } },
      ['--sink-format', 'sentinel', '--azure-authority-url', entra.authority],
      (r) => r.url,
      {
        AZURE_TENANT_ID: entra.tenantId,
        AZURE_CLIENT_ID: entra.clientId,
        AZURE_CLIENT_SECRET: entra.clientSecret,
      },
    );
    // One token for every request of the first run; the second has nothing to send and asks for none.
    expect(entra.issued()).toHaveLength(1);
    const secrets = {
      clientSecret: entra.clientSecret,
      ...Object.fromEntries(entra.issued().map((t, n) => [`token${n}`, t.accessToken])),
    };
    expect(createLeakScanner(secrets).scan(text)).toEqual([]);
  } finally {
    await entra.stop();
  }
});

test('s3: a refused PutObject leaves the checkpoint where it was; the next run fills in, a third adds nothing', async () => {
  const s3 = await startS3Server();
  try {
    const env = {
      MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
      MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const start = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const run = async () => {
      const io = captureIO(env);
      const args = [
        '--until-caught-up',
        '--streams',
        'audit,ttp-url',
        '--start',
        start,
        '--mimecast-url',
        sim.url,
      ];
      const code = await runCommand(
        [
          ...args,
          '--sink-format',
          's3',
          '--sink-url',
          's3://mimecast-lake/mimecast',
          '--state-dir',
          path.join(dir, 'state'),
        ],
        io,
      );
      return { code, io };
    };
    const delivered = async () => {
      const ids: string[] = [];
      for (const object of await s3.objects('mimecast-lake')) {
        for (const line of gunzipSync(object.body).toString('utf8').trimEnd().split('\n')) {
          ids.push((JSON.parse(line) as { id: string }).id);
        }
      }
      return ids;
    };
    s3.inject({ kind: 's3-error', code: 'AccessDenied' });
    const refused = await run();
    expect(refused.code).toBe(1);
    expect(refused.io.errLines.join('\n')).toMatch(/AccessDenied/);
    const partial = (await delivered()).length;

    const second = await run();
    expect({ code: second.code, err: second.io.errLines }).toEqual({ code: 0, err: [] });
    const all = await delivered();
    expect(all.length).toBeGreaterThan(partial);
    expect(new Set(all).size).toBe(all.length);
    expect(
      (await s3.objects('mimecast-lake')).every((o) =>
        /^mimecast\/local\/(audit|ttp-url)\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\//.test(o.key),
      ),
    ).toBe(true);

    const third = await run();
    expect(third.code).toBe(0);
    expect((await delivered()).length).toBe(all.length);
  } finally {
    await s3.stop();
  }
});

test('file: day files per stream under the directory; a second run adds nothing', async () => {
  const out = path.join(dir, 'out');
  const run = async () => {
    const io = captureIO({
      MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
      MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
    });
    const start = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const code = await runCommand(
      [
        ...['--until-caught-up', '--streams', 'audit,ttp-url', '--start', start, '--mimecast-url', sim.url],
        ...['--sink-format', 'file', '--sink-url', `file://${out}`, '--retention-days', '30'],
        ...['--state-dir', path.join(dir, 'state')],
      ],
      io,
    );
    return { code, io };
  };
  const lines = async () => {
    const ids: string[] = [];
    for (const stream of await readdir(out)) {
      for (const day of await readdir(path.join(out, stream))) {
        expect(day).toMatch(/^\d{4}-\d\d-\d\d\.ndjson$/);
        const text = await readFile(path.join(out, stream, day), 'utf8');
        ids.push(
          ...text
            .trimEnd()
            .split('\n')
            .map((l) => (JSON.parse(l) as { id: string }).id),
        );
      }
    }
    return ids;
  };
  const first = await run();
  expect({ code: first.code, err: first.io.errLines }).toEqual({ code: 0, err: [] });
  const ids = await lines();
  expect(ids.length).toBeGreaterThan(0);
  expect(new Set(ids).size).toBe(ids.length);
  expect((await readdir(out)).sort()).toEqual(['audit', 'ttp-url']);
  expect((await run()).code).toBe(0);
  expect((await lines()).length).toBe(ids.length);
});
