/**
 * The first hour of a new user (issue 12, section 4): what `run` says when something is missing or
 * wrong, how it ends, and that no command prints a notice nobody asked for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../bin/cli/run';
import { type Receiver, startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { captureIO } from './cli-io';

let dir: string;
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  [sim, receiver] = await Promise.all([startSimulator({ seed: 12 }), startReceiver({ kind: 'ndjson' })]);
});

afterAll(async () => {
  await Promise.all([sim.stop(), receiver.stop()]);
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mimecast-first-hour-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const v2 = () => ({
  MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
  MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
});

test('run with no credentials reports the credentials only, not the flags that default from them', async () => {
  const io = captureIO({});
  expect(await runCommand(['--once', '--sink-url', receiver.url, '--state-dir', dir], io)).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(
    /environment: no Mimecast credentials: set MIMECAST_CLIENT_ID and MIMECAST_CLIENT_SECRET/,
  );
  expect(err).not.toMatch(/--api-version/);
  expect(err).not.toMatch(/--mimecast-url/);
  expect(err).toMatch(/^error: invalid input:$/m);
});

test('run with no credentials still reports a wrong --api-version the user did give', async () => {
  const io = captureIO({});
  expect(await runCommand(['--once', '--sink-url', receiver.url, '--api-version', '3'], io)).toBe(2);
  expect(io.errLines.join('\n')).toMatch(/--api-version: "3" is not supported/);
});

test('--batch-events -1 is judged by the setting, in its own words', async () => {
  const io = captureIO(v2());
  const args = ['--once', '--sink-url', receiver.url, '--mimecast-url', sim.url, '--batch-events', '-1'];
  expect(await runCommand(args, io)).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(
    /--batch-events: "-1" is not a whole number; expected a whole number from 1 to 50000 \(default 5000\)/,
  );
  expect(err).not.toMatch(/ambiguous|Did you forget/);
});

test('a splunk-hec /services/collector/raw URL is refused as --sink-url before anything starts', async () => {
  const io = captureIO(v2());
  const raw = 'https://splunk.example.com:8088/services/collector/raw';
  const args = ['--once', '--sink-format', 'splunk-hec', '--sink-url', raw, '--mimecast-url', sim.url];
  expect(await runCommand([...args, '--state-dir', dir], io)).toBe(2);
  expect(io.errLines.join('\n')).toMatch(
    /--sink-url: points at \/services\/collector\/raw; the splunk-hec format posts JSON events to \/services\/collector\/event/,
  );
  expect(io.text()).not.toMatch(/Collecting/);
  expect(io.text()).not.toMatch(/^\s*url:/m);
});

test('run ends with what it forwarded per stream, how the last tick ended, and where to look next', async () => {
  const io = captureIO(v2());
  const state = path.join(dir, 'state');
  const args = ['--once', '--streams', 'audit', '--start', new Date(Date.now() - 3_600_000).toISOString()];
  expect(
    await runCommand(
      [...args, '--mimecast-url', sim.url, '--sink-url', receiver.url, '--state-dir', state],
      io,
    ),
  ).toBe(0);
  const out = io.outLines.join('\n');
  expect(out).toMatch(/^This run forwarded \d+ events \(audit \d+\)\.$/m);
  expect(out).toMatch(/^Last tick: every stream ended without error; largest lag \S+\.$/m);
  expect(out).toContain(`Checkpoints: npx mimecast-collector status --state-dir ${state} --instance local`);
  expect(out).toMatch(/Run the same command again: it resumes from the checkpoints/);
  // The closing lines come last.
  expect(io.outLines.at(-1)).toMatch(/^Run the same command again/);
});

test('a command that loads the AWS SDK prints no NodeVersionSupportWarning (Node 20 stays supported)', () => {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
    AWS_MAX_ATTEMPTS: '1',
    // Nothing listens there: the command fails fast, after the SDK client was built.
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
  };
  const cli = path.join(__dirname, '../../bin/mimecast-collector.js');
  const result = spawnSync(
    process.execPath,
    [cli, 'status', '--table', 'checkpoints', '--region', 'eu-west-1'],
    {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(result.stderr).toMatch(/DynamoDB Query on table "checkpoints"/);
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/NodeVersionSupportWarning|--trace-warnings/);
});
