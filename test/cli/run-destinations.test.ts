/**
 * `mimecast-collector run --until-caught-up --sink-format <each> --sink-url <loopback>` for issue 14's
 * HTTP destinations: everything lands at the receiver, a second run adds nothing, and the terminal never
 * shows the destination's credential (the Sumo URL token included).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../bin/cli/run';
import { type Receiver, type ReceiverOptions, startReceiver } from '../receivers';
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
