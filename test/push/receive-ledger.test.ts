/**
 * `receive --push-primary` records what it delivered in the push ledger of its state folder, the one
 * `run --push-primary` reads with the same --state-dir (docs/PUSH-GAP-FILL.md); without the flag nothing
 * is recorded. A real local store (dynalite) under a temporary folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { receiveCommand } from '../../bin/cli/receive';
import { openStore } from '../../bin/cli/store';
import { bucketStart, ID_DIGEST_BYTES, packDigests } from '../../lambda/core/push-ledger';
import { pushMatchKey } from '../../lambda/push';
import { captureIO } from '../cli/cli-io';
import { type Receiver, startReceiver } from '../receivers';
import { auditEvent, hecArray } from './fixtures';

jest.setTimeout(60_000);

const PUSH_TOKEN = 'push-5e4d3c2b1a0f9e8d7c6b5a49';

let sink: Receiver;
let stateDir: string;

beforeEach(async () => {
  sink = await startReceiver({ kind: 'ndjson' });
  stateDir = await mkdtemp(path.join(tmpdir(), 'receive-ledger-'));
});

afterEach(async () => {
  await sink.stop();
  await rm(stateDir, { recursive: true, force: true });
});

/** Runs `receive` with `extra` flags, pushes two audit events, stops it; resolves with its exit code. */
async function receiveTwoEvents(extra: string[]): Promise<void> {
  const stop = new AbortController();
  const io = { ...captureIO({ PUSH_TOKEN }), signal: stop.signal };
  const running = receiveCommand(
    [
      '--listen',
      '127.0.0.1:0',
      '--sink-url',
      sink.url,
      '--instance',
      'acme',
      '--state-dir',
      stateDir,
      ...extra,
    ],
    io,
  );
  let origin: string | undefined;
  for (let i = 0; i < 500 && origin === undefined; i++) {
    const line = io.outLines.find((l) => l.startsWith('Receiving Event Push on '));
    origin = line === undefined ? undefined : /on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
    if (origin === undefined) await sleep(10);
  }
  expect(origin).toBeDefined();
  const res = await fetch(`${origin}/services/collector/event`, {
    method: 'POST',
    headers: { authorization: `Splunk ${PUSH_TOKEN}`, 'content-type': 'application/json' },
    body: hecArray([auditEvent(1), auditEvent(2)]),
    signal: AbortSignal.timeout(10_000),
  });
  expect(res.status).toBe(200);
  stop.abort();
  expect(await running).toBe(0);
  expect(sink.received().map((e) => e.event)).toEqual([auditEvent(1), auditEvent(2)]);
}

async function ledgerDigests(): Promise<Buffer> {
  const store = await openStore({ stateDir });
  try {
    const hour = bucketStart(Date.parse(auditEvent(1).eventTime as string));
    const parts = await store.pushLedger('acme').readBucket('audit', hour);
    return Buffer.concat(parts.map((part) => Buffer.from(part)));
  } finally {
    await store.close();
  }
}

it('with --push-primary: the delivered events are in the push ledger run reads', async () => {
  await receiveTwoEvents(['--push-primary', 'audit']);
  const digests = await ledgerDigests();
  expect(digests.byteLength).toBe(2 * ID_DIGEST_BYTES);
  expect(digests).toEqual(
    packDigests([pushMatchKey('audit', auditEvent(1)), pushMatchKey('audit', auditEvent(2))]),
  );
});

it('without it: nothing is recorded', async () => {
  await receiveTwoEvents([]);
  expect((await ledgerDigests()).byteLength).toBe(0);
});
